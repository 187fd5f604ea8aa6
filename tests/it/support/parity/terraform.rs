//! The model of a Terraform plan made after apply: the deployment's names written as the
//! policy templates write them.

use super::{
    Bucket, CorsRule, Encryption, Identities, Key, LifecycleRule, LogBucket, ManagedPolicy,
    Parameter, RegionModel, set, text,
};
use crate::support::deployed::policies::normalise_policy;
use serde_json::Value;
use std::collections::BTreeMap;

/// What the Terraform side needs besides the plan: which addresses `destroy` keeps, and the
/// resolved `aws:userId` list (to write it as `${AllowedUserIds}`).
pub struct TerraformContext<'a> {
    pub retained: &'a [String],
    pub allowed_user_ids: &'a [String],
}

/// The `after` values of every resource of a plan, by address.
fn after_values(plan: &Value) -> BTreeMap<String, Value> {
    plan["resource_changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["mode"] == "managed")
        .map(|c| {
            (
                c["address"].as_str().unwrap_or_default().to_string(),
                c["change"]["after"].clone(),
            )
        })
        .collect()
}

/// Replaces the deployment's names by the placeholders, everywhere in `v` (policies are
/// JSON strings: parsed first).
fn symbolic(v: &Value, names: &[(String, &'static str)], allowed: &[String]) -> Value {
    match v {
        Value::String(s) => {
            let mut s = s.clone();
            for (name, symbol) in names {
                if !name.is_empty() {
                    s = s.replace(name.as_str(), symbol);
                }
            }
            Value::String(s)
        }
        Value::Array(items) => {
            let mut sorted: Vec<String> = items
                .iter()
                .filter_map(|i| i.as_str().map(String::from))
                .collect();
            let mut want = allowed.to_vec();
            sorted.sort();
            sorted.dedup();
            want.sort();
            want.dedup();
            if !allowed.is_empty() && sorted == want {
                return Value::String("${AllowedUserIds}".into());
            }
            Value::Array(items.iter().map(|i| symbolic(i, names, allowed)).collect())
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), symbolic(v, names, allowed)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn policy_tf(text: &Value, names: &[(String, &'static str)], allowed: &[String]) -> Value {
    let doc: Value = text
        .as_str()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    normalise_policy(&symbolic(&doc, names, allowed))
}

fn pab_tf(v: &Value) -> [bool; 4] {
    [
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ]
    .map(|k| v[k] == Value::Bool(true))
}

fn lifecycle_tf(v: &Value) -> Vec<LifecycleRule> {
    let mut rules: Vec<LifecycleRule> = v["rule"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| LifecycleRule {
            id: text(r.get("id")),
            status: text(r.get("status")),
            abort_incomplete_multipart_days:
                r["abort_incomplete_multipart_upload"][0]["days_after_initiation"].as_i64(),
            noncurrent_days: r["noncurrent_version_expiration"][0]["noncurrent_days"].as_i64(),
        })
        .collect();
    rules.sort();
    rules
}

/// One region's resources in the plan, with the names to write as placeholders.
struct Region<'a> {
    after: &'a BTreeMap<String, Value>,
    suffix: String,
    names: Vec<(String, &'static str)>,
    ctx: &'a TerraformContext<'a>,
}

impl Region<'_> {
    /// `after` of `<kind>.<name>_<region>`, or null.
    fn get(&self, kind: &str, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.after
            .get(&format!("{kind}.{name}_{}", self.suffix))
            .unwrap_or(&NULL)
    }

    fn sym(&self, v: &Value) -> Value {
        symbolic(v, &self.names, self.ctx.allowed_user_ids)
    }

    fn policy(&self, text: &Value) -> Value {
        policy_tf(text, &self.names, self.ctx.allowed_user_ids)
    }

    fn retained(&self, kind: &str, name: &str) -> bool {
        let address = format!("{kind}.{name}_{}", self.suffix);
        self.ctx.retained.contains(&address)
    }

    fn ownership(&self, name: &str) -> Option<String> {
        self.get("aws_s3_bucket_ownership_controls", name)["rule"][0]["object_ownership"]
            .as_str()
            .map(String::from)
    }
}

/// The model of one region in a Terraform plan made after apply.
pub fn from_terraform(plan: &Value, region: &str, ctx: &TerraformContext<'_>) -> RegionModel {
    let after = after_values(plan);
    let mut r = Region {
        after: &after,
        suffix: region.replace('-', "_"),
        names: Vec::new(),
        ctx,
    };
    r.names = vec![
        (
            text(r.get("aws_kms_key", "artifacts").get("arn")),
            "${KeyArn}",
        ),
        (
            text(r.get("aws_s3_bucket", "artifacts").get("bucket")),
            "${Bucket}",
        ),
        (
            text(r.get("aws_s3_bucket", "logs").get("bucket")),
            "${LogBucket}",
        ),
    ];
    let (managed_policies, policy_arns) = managed_policies(&r);
    let key = r.get("aws_kms_key", "artifacts");
    let parameter = r.get("aws_ssm_parameter", "bucket_name");
    RegionModel {
        bucket: bucket(&r),
        log_bucket: (!r.get("aws_s3_bucket", "logs").is_null()).then(|| LogBucket {
            encryption:
                text(
                    r.get("aws_s3_bucket_server_side_encryption_configuration", "logs")["rule"][0]
                        ["apply_server_side_encryption_by_default"][0]
                        .get("sse_algorithm"),
                ),
            public_access_block: pab_tf(r.get("aws_s3_bucket_public_access_block", "logs")),
            ownership: r.ownership("logs"),
            lifecycle: lifecycle_tf(r.get("aws_s3_bucket_lifecycle_configuration", "logs")),
            policy: r.policy(&r.get("aws_s3_bucket_policy", "logs")["policy"]),
            retained: r.retained("aws_s3_bucket", "logs"),
        }),
        bucket_name_parameter: Parameter {
            name: text(parameter.get("name")),
            kind: text(parameter.get("type")),
            value: text(r.sym(parameter).get("value")),
            description: text(parameter.get("description")),
        },
        managed_policies,
        key: (!key.is_null()).then(|| Key {
            description: text(key.get("description")),
            rotation: key["enable_key_rotation"] == Value::Bool(true),
            deletion_window_days: key["deletion_window_in_days"].as_i64().unwrap_or(0),
            policy: r.policy(&key["policy"]),
            alias: text(r.get("aws_kms_alias", "artifacts").get("name")),
            retained: r.retained("aws_kms_key", "artifacts"),
        }),
        identities: identities(plan, region, &after, &policy_arns),
    }
}

fn bucket(r: &Region<'_>) -> Bucket {
    let sse = &r.get(
        "aws_s3_bucket_server_side_encryption_configuration",
        "artifacts",
    )["rule"][0];
    let by_default = r.sym(&sse["apply_server_side_encryption_by_default"][0]);
    let logging = r.get("aws_s3_bucket_logging", "artifacts");
    let mut cors: Vec<CorsRule> =
        r.get("aws_s3_bucket_cors_configuration", "artifacts")["cors_rule"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| CorsRule {
                origins: set(c.get("allowed_origins")),
                methods: set(c.get("allowed_methods")),
                headers: set(c.get("allowed_headers")),
                expose: set(c.get("expose_headers")),
                max_age: c["max_age_seconds"].as_i64(),
            })
            .collect();
    cors.sort();
    Bucket {
        name: r
            .get("aws_s3_bucket", "artifacts")
            .get("bucket")
            .and_then(Value::as_str)
            .map(String::from),
        encryption: Encryption {
            algorithm: text(by_default.get("sse_algorithm")),
            key: by_default
                .get("kms_master_key_id")
                .and_then(Value::as_str)
                .filter(|k| !k.is_empty())
                .map(String::from),
            bucket_key: sse["bucket_key_enabled"] == Value::Bool(true),
        },
        versioning: r.get("aws_s3_bucket_versioning", "artifacts")["versioning_configuration"][0]["status"]
            == "Enabled",
        public_access_block: pab_tf(r.get("aws_s3_bucket_public_access_block", "artifacts")),
        ownership: r.ownership("artifacts"),
        lifecycle: lifecycle_tf(r.get("aws_s3_bucket_lifecycle_configuration", "artifacts")),
        logging: (!logging.is_null()).then(|| {
            (
                text(r.sym(logging).get("target_bucket")),
                text(logging.get("target_prefix")),
            )
        }),
        cors,
        policy: r.policy(&r.get("aws_s3_bucket_policy", "artifacts")["policy"]),
        retained: r.retained("aws_s3_bucket", "artifacts"),
    }
}

/// The managed policies by kind, and their ARNs → kind (for the identities' attachment).
fn managed_policies(r: &Region<'_>) -> (BTreeMap<String, ManagedPolicy>, BTreeMap<String, String>) {
    let mut policies = BTreeMap::new();
    let mut arns = BTreeMap::new();
    for kind in ["read", "write", "configure", "manage"] {
        let p = r.get("aws_iam_policy", kind);
        if p.is_null() {
            continue;
        }
        arns.insert(text(p.get("arn")), kind.to_string());
        policies.insert(
            kind.to_string(),
            ManagedPolicy {
                name: p.get("name").and_then(Value::as_str).map(String::from),
                description: text(p.get("description")),
                document: r.policy(&p["policy"]),
            },
        );
    }
    (policies, arns)
}

/// The IAM group in the home region, with the kind of its policy and its users.
fn identities(
    plan: &Value,
    region: &str,
    after: &BTreeMap<String, Value>,
    policy_arns: &BTreeMap<String, String>,
) -> Option<Identities> {
    let group = after.get("aws_iam_group.identities")?;
    if !is_home(plan, region) {
        return None;
    }
    let attachment = after.get("aws_iam_group_policy_attachment.identities")?;
    let mut users: Vec<String> = after
        .iter()
        .filter(|(a, _)| a.starts_with("aws_iam_user."))
        .map(|(_, u)| text(u.get("name")))
        .collect();
    users.sort();
    Some(Identities {
        group: text(group.get("name")),
        policy: policy_arns
            .get(&text(attachment.get("policy_arn")))
            .cloned()
            .unwrap_or_default(),
        users,
    })
}

/// Whether `region` is the home region: the one whose provider the IAM group uses.
fn is_home(plan: &Value, region: &str) -> bool {
    let alias = format!("aws.{}", region.replace('-', "_"));
    plan["configuration"]["root_module"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["address"] == "aws_iam_group.identities" && r["provider_config_key"] == alias)
}
