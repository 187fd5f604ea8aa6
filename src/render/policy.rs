//! The IAM documents (`policies/*.json.hbs`): rendered once per configuration with
//! placeholders, parsed back as JSON, then resolved for each output (see `placeholders.rs`).

use super::RenderError;
use super::context::{PolicyContext, policy_context};
use super::placeholders::{Dialect, resolve};
use super::templates::{Language, Templates};
use crate::config::Config;
use serde::Serialize;
use serde_json::Value;

/// Which documents a configuration has, by kind (also the file stem of the template).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    Read,
    Write,
    Configure,
    Manage,
    Bucket,
    Key,
    LogBucket,
}

impl PolicyKind {
    pub fn stem(self) -> &'static str {
        match self {
            PolicyKind::Read => "read",
            PolicyKind::Write => "write",
            PolicyKind::Configure => "configure",
            PolicyKind::Manage => "manage",
            PolicyKind::Bucket => "bucket",
            PolicyKind::Key => "key",
            PolicyKind::LogBucket => "log-bucket",
        }
    }

    pub fn template(self) -> String {
        format!("policies/{}.json.hbs", self.stem())
    }
}

/// The documents of a configuration, with placeholders unresolved.
#[derive(Debug, Clone)]
pub struct PolicySet {
    pub documents: Vec<(PolicyKind, Value)>,
}

impl PolicySet {
    pub fn render(cfg: &Config, templates: &Templates) -> Result<Self, RenderError> {
        let registry = templates.registry("policies/", Language::Json)?;
        let ctx: PolicyContext = policy_context(cfg);
        let mut kinds = vec![PolicyKind::Read, PolicyKind::Write, PolicyKind::Configure];
        if cfg.policies.manage.enabled {
            kinds.push(PolicyKind::Manage);
        }
        kinds.push(PolicyKind::Bucket);
        if cfg.kms.is_some() {
            kinds.push(PolicyKind::Key);
        }
        if cfg.bucket.access_logging {
            kinds.push(PolicyKind::LogBucket);
        }
        let mut documents = Vec::new();
        for kind in kinds {
            let name = kind.template();
            let text = registry.render(&name, &ctx)?;
            let doc: Value = serde_json::from_str(&text).map_err(|e| RenderError::Parse {
                template: templates.origin(&name),
                overridden: templates.overridden(&name),
                language: "JSON",
                message: format!("line {}, column {}: {e}", e.line(), e.column()),
            })?;
            // Resolving once up front finds unknown placeholders before any output is built.
            resolve(&doc, &Dialect::CloudFormation).map_err(|message| {
                RenderError::Placeholder {
                    template: templates.origin(&name),
                    overridden: templates.overridden(&name),
                    message,
                }
            })?;
            documents.push((kind, doc));
        }
        Ok(PolicySet { documents })
    }

    /// The document of `kind`, resolved for `dialect` (null when the configuration has none).
    pub fn resolved(&self, kind: PolicyKind, dialect: &Dialect<'_>) -> Value {
        self.documents
            .iter()
            .find(|(k, _)| *k == kind)
            // Placeholders were checked in `render`: resolution cannot fail here.
            .and_then(|(_, doc)| resolve(doc, dialect).ok())
            .unwrap_or(Value::Null)
    }

    /// Every document resolved for `dialect`, keyed by stem (`read`, `log-bucket`, ...), with
    /// null for the ones the configuration does not have.
    pub fn resolved_map(&self, dialect: &Dialect<'_>) -> Value {
        let mut map = serde_json::Map::new();
        for kind in [
            PolicyKind::Read,
            PolicyKind::Write,
            PolicyKind::Configure,
            PolicyKind::Manage,
            PolicyKind::Bucket,
            PolicyKind::Key,
            PolicyKind::LogBucket,
        ] {
            // Templates use `policies.log_bucket`: underscores, as in every other field.
            map.insert(kind.stem().replace('-', "_"), self.resolved(kind, dialect));
        }
        Value::Object(map)
    }
}

/// The concrete documents of every region (see [`super::policies`]).
pub fn concrete_files(
    cfg: &Config,
    templates: &Templates,
) -> Result<Vec<super::RenderedFile>, RenderError> {
    let set = PolicySet::render(cfg, templates)?;
    let allowed_user_ids = example_user_ids(cfg);
    let mut files = Vec::new();
    for region in &cfg.regions {
        let partition = crate::region::partition_of(region).id;
        let bucket = cfg
            .bucket_name_in(region, super::EXAMPLE_ACCOUNT_ID)
            .unwrap_or_else(|| format!("{}-bucket-example", cfg.stack_name.to_ascii_lowercase()));
        let log_bucket = format!("{}-logbucket-example", cfg.stack_name.to_ascii_lowercase());
        let dialect = Dialect::Concrete {
            region,
            partition,
            account_id: super::EXAMPLE_ACCOUNT_ID,
            bucket: &bucket,
            log_bucket: &log_bucket,
            key_arn: None,
            allowed_user_ids: &allowed_user_ids,
        };
        for (kind, _) in &set.documents {
            let doc = set.resolved(*kind, &dialect);
            let mut content = serde_json::to_string_pretty(&doc).unwrap_or_default();
            content.push('\n');
            files.push(super::RenderedFile {
                name: format!("{region}/{}.json", kind.stem()),
                content,
            });
        }
    }
    Ok(files)
}

/// Every policy document of one region resolved with a deployment's real names: what the
/// documents in AWS must say (`render --format policies` uses example names instead).
pub fn deployed_documents(
    cfg: &Config,
    templates: &Templates,
    names: &super::DeployedNames<'_>,
) -> Result<Vec<(PolicyKind, Value)>, RenderError> {
    let set = PolicySet::render(cfg, templates)?;
    let dialect = Dialect::Concrete {
        region: names.region,
        partition: crate::region::partition_of(names.region).id,
        account_id: names.account_id,
        bucket: names.bucket,
        log_bucket: names.log_bucket,
        key_arn: names.key_arn,
        allowed_user_ids: names.allowed_user_ids,
    };
    Ok(set
        .documents
        .iter()
        .map(|(kind, _)| (*kind, set.resolved(*kind, &dialect)))
        .collect())
}

/// Example `aws:userId` patterns shaped like the ones `plan` resolves (the account ID, then
/// `AROA…:*` per role, `AROA…:SESSION` per role session, `AIDA…` per user).
fn example_user_ids(cfg: &Config) -> Vec<String> {
    let id = |prefix: &str, n: usize| format!("{prefix}EXAMPLE{n:012}");
    let mut ids = vec![super::EXAMPLE_ACCOUNT_ID.to_string()];
    let mut roles: Vec<&str> = cfg.access.roles.iter().map(String::as_str).collect();
    for n in 1..=cfg.access.roles.len() {
        ids.push(format!("{}:*", id("AROA", n)));
    }
    for ru in &cfg.access.role_users {
        let (role, session) = ru.split_once('/').unwrap_or((ru.as_str(), ""));
        let n = match roles.iter().position(|r| *r == role) {
            Some(i) => i + 1,
            None => {
                roles.push(role);
                roles.len()
            }
        };
        ids.push(format!("{}:{session}", id("AROA", n)));
    }
    for n in 1..=cfg.access.users.len() {
        ids.push(id("AIDA", n));
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_config::config;
    use serde_json::json;

    fn documents(yaml: &str) -> PolicySet {
        PolicySet::render(&config(yaml), &Templates::default()).unwrap()
    }

    fn statement<'a>(doc: &'a Value, sid: &str) -> Option<&'a Value> {
        doc["Statement"]
            .as_array()?
            .iter()
            .find(|s| s["Sid"] == sid)
    }

    const BASE: &str =
        "version: 1\norganisation: acme\nregions: [eu-west-1]\nkms: {alias: alias/acme}\n";

    #[test]
    fn with_access_lists_the_key_denies_everyone_not_listed() {
        let set = documents(&format!("{BASE}access: {{roles: [ci]}}\n"));
        let key = set.resolved(PolicyKind::Key, &Dialect::CloudFormation);
        let deny = statement(&key, "DenyEveryoneNotListed").expect("a deny-except statement");
        assert_eq!(deny["Effect"], "Deny");
        assert_eq!(deny["Principal"], json!({"AWS": "*"}));
        assert_eq!(
            deny["Condition"],
            json!({"StringNotLike": {"aws:userId": {"Ref": "AllowedUserIds"}}}),
            "the same allowed list as the bucket policy: listed principals, account root, deploying identity"
        );
        let actions: Vec<&str> = deny["Action"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for needed in [
            "kms:Decrypt",
            "kms:GenerateDataKey*",
            "kms:PutKeyPolicy",
            "kms:ScheduleKeyDeletion",
            "kms:CreateGrant",
        ] {
            assert!(actions.contains(&needed), "{needed} in {actions:?}");
        }
        // Metadata reads stay with IAM, and `kms:*` would deny them too.
        for left_out in [
            "kms:*",
            "kms:DescribeKey",
            "kms:Describe*",
            "kms:GetKeyPolicy",
        ] {
            assert!(!actions.contains(&left_out), "{left_out} in {actions:?}");
        }
        let bucket = set.resolved(PolicyKind::Bucket, &Dialect::CloudFormation);
        let bucket_deny = statement(&bucket, "DenyEveryoneNotListed").unwrap();
        assert_eq!(deny["Condition"], bucket_deny["Condition"]);
    }

    #[test]
    fn without_access_lists_the_key_has_no_deny() {
        let set = documents(BASE);
        let key = set.resolved(PolicyKind::Key, &Dialect::CloudFormation);
        assert!(statement(&key, "DenyEveryoneNotListed").is_none(), "{key}");
        assert_eq!(key["Statement"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn appending_metadata_under_a_customer_key_may_generate_a_data_key() {
        let kms_actions = |yaml: &str| -> Vec<String> {
            let read = documents(yaml).resolved(PolicyKind::Read, &Dialect::CloudFormation);
            read["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
                .filter_map(|a| a.as_str().map(String::from))
                .filter(|a| a.starts_with("kms:"))
                .collect()
        };
        let append = "policies: {read: {allow_metadata_append: true}}\n";
        assert_eq!(
            kms_actions(&format!("{BASE}{append}")),
            ["kms:Decrypt", "kms:GenerateDataKey"]
        );
        assert_eq!(kms_actions(BASE), ["kms:Decrypt"]);
        let aws_managed = "version: 1\norganisation: acme\nregions: [eu-west-1]\n";
        assert!(kms_actions(&format!("{aws_managed}{append}")).is_empty());
    }
}
