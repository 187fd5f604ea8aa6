//! The data each template receives, computed from the configuration in Rust so that the
//! templates stay simple: names, ARNs with placeholders, switches, and policy documents.
//! docs/templates.md lists every field.

use crate::config::{Config, Encryption, IdentityPolicy};
use serde::Serialize;
use serde_json::{Value, json};

mod policy;
#[cfg(test)]
mod tests;

pub use policy::*;

/// Fields common to every template of a configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Common {
    pub organisation: String,
    pub stack_name: String,
    pub home_region: String,
    pub partition: &'static str,
    /// Tags as `[{key, value}]` (sorted by key).
    pub tags: Vec<Tag>,
    /// The same tags as a CloudFormation `Tags` list, or null when there are none.
    pub cfn_tags: Value,
    /// The same tags as a map, or null when there are none (SSM parameters take a map).
    pub tag_map: Value,
    /// The tags as a map, empty when there are none.
    pub tag_map_or_empty: Value,
    pub parameters: crate::config::Parameters,
    pub key_prefix: String,
    pub access: AccessContext,
    /// The CloudFormation parameter carrying the allowed `aws:userId` patterns.
    pub principals_parameter: &'static str,
    /// The CloudFormation logical IDs (an adopted stack's, or provision's own).
    pub ids: Ids,
    /// The managed policies' descriptions of an adopted stack (null: provision's own).
    pub policy_descriptions: crate::config::PolicyDescriptions,
}

/// CloudFormation logical IDs of the resources an adopted stack keeps.
#[derive(Debug, Clone, Serialize)]
pub struct Ids {
    pub bucket: String,
    pub bucket_name_parameter: String,
    pub read_policy: String,
    pub write_policy: String,
    pub configure_policy: String,
}

impl Ids {
    pub fn of(cfg: &Config) -> Ids {
        let ids = cfg.adopted.as_ref().map(|a| &a.logical_ids);
        let pick = |get: fn(&crate::config::LogicalIds) -> &Option<String>, default: &str| {
            ids.and_then(|i| get(i).clone())
                .unwrap_or_else(|| default.to_string())
        };
        Ids {
            bucket: pick(|i| &i.bucket, "Bucket"),
            bucket_name_parameter: pick(|i| &i.bucket_name_parameter, "BucketNameParameter"),
            read_policy: pick(|i| &i.read_policy, "ReadPolicy"),
            write_policy: pick(|i| &i.write_policy, "WritePolicy"),
            configure_policy: pick(|i| &i.configure_policy, "ConfigurePolicy"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// The cStore-style access lists.
#[derive(Debug, Clone, Serialize)]
pub struct AccessContext {
    /// Whether any list is non-empty (the bucket is then restricted to them).
    pub enabled: bool,
    pub role_users: Vec<RoleSession>,
    /// The role sessions as configured (`ROLE/SESSION`).
    pub role_user_names: Vec<String>,
    pub roles: Vec<String>,
    pub users: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoleSession {
    /// `ROLE/SESSION` as configured.
    pub principal: String,
    pub role: String,
    pub session: String,
}

/// Everything about one region's resources.
#[derive(Debug, Clone, Serialize)]
pub struct RegionContext {
    pub region: String,
    /// The region as an identifier part: `eu_west_1`.
    pub suffix: String,
    /// Whether this region's stack holds the account-global IAM resources.
    pub home: bool,
    pub description: String,
    pub bucket: BucketContext,
    pub kms: Option<KmsContext>,
    pub identities: Option<IdentitiesContext>,
    /// The managed policies' names (Terraform; CloudFormation names them itself).
    pub policy_names: PolicyNames,
}

#[derive(Debug, Clone, Serialize)]
pub struct BucketContext {
    /// The fixed name with `{region}` substituted and `{account_id}` as `${AccountId}`, or
    /// null when the name is left to CloudFormation/Terraform.
    pub name: Option<String>,
    /// `Retain` or `Delete`.
    pub deletion_policy: &'static str,
    pub retain: bool,
    /// `aws:kms` or `AES256`.
    pub sse_algorithm: &'static str,
    /// SSE-S3 (AES256) was chosen instead of SSE-KMS.
    pub sse_s3: bool,
    /// An S3 bucket key (fewer KMS requests) with SSE-KMS.
    pub bucket_key: bool,
    /// A customer-managed key encrypts the bucket.
    pub kms: bool,
    pub versioning: bool,
    pub access_logging: bool,
    /// Prefix of the access-log objects in the log bucket.
    pub log_prefix: &'static str,
    pub abort_incomplete_multipart_days: u32,
    pub noncurrent_version_expiration_days: Option<u32>,
    pub cors: Vec<CorsContext>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CorsContext {
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KmsContext {
    pub alias: String,
    pub rotation: bool,
    pub deletion_window_days: u32,
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentitiesContext {
    pub group: String,
    pub users: Vec<IdentityUser>,
    /// `read`, `write` or `manage`.
    pub policy: &'static str,
    /// The CloudFormation logical ID of that policy (`WritePolicy`).
    pub policy_logical_id: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentityUser {
    pub name: String,
    /// An identifier made of the name: `AcmeApp` (CloudFormation logical ID part).
    pub id: String,
    /// The same in snake case: `acme_app` (Terraform resource name).
    pub resource_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyNames {
    pub read: String,
    pub write: String,
    pub configure: String,
    pub manage: String,
}

impl Common {
    pub fn new(cfg: &Config) -> Self {
        let tags: Vec<Tag> = cfg
            .tags
            .iter()
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        let (cfn_tags, tag_map) = if tags.is_empty() {
            (Value::Null, Value::Null)
        } else {
            (
                tags.iter()
                    .map(|t| json!({"Key": t.key, "Value": t.value}))
                    .collect(),
                json!(cfg.tags),
            )
        };
        let role_users = cfg
            .access
            .role_users
            .iter()
            .map(|p| {
                let (role, session) = p.split_once('/').unwrap_or((p.as_str(), ""));
                RoleSession {
                    principal: p.clone(),
                    role: role.to_string(),
                    session: session.to_string(),
                }
            })
            .collect();
        Common {
            organisation: cfg.organisation.clone(),
            stack_name: cfg.stack_name.clone(),
            home_region: cfg.home_region().to_string(),
            partition: crate::region::partition_of(cfg.home_region()).id,
            tags,
            cfn_tags,
            tag_map,
            tag_map_or_empty: json!(cfg.tags),
            parameters: cfg.parameters.clone(),
            key_prefix: cfg.bucket.key_prefix.clone(),
            access: AccessContext {
                enabled: !cfg.access.is_empty(),
                role_users,
                role_user_names: cfg.access.role_users.clone(),
                roles: cfg.access.roles.clone(),
                users: cfg.access.users.clone(),
            },
            principals_parameter: super::PRINCIPALS_PARAMETER,
            ids: Ids::of(cfg),
            policy_descriptions: cfg
                .adopted
                .as_ref()
                .map(|a| a.policy_descriptions.clone())
                .unwrap_or_default(),
        }
    }
}

/// `eu-west-1` → `eu_west_1`.
pub fn region_suffix(region: &str) -> String {
    region.replace('-', "_")
}

/// An identifier part made of an IAM name: letters and digits, each word capitalised
/// (`acme-app` → `AcmeApp`). Uniqueness is the caller's business.
pub fn identifier(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

/// `AcmeApp2` → `acme_app2`.
pub fn snake_case(id: &str) -> String {
    let mut out = String::new();
    for (i, c) in id.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// An IAM policy name `<stack>-<region>-<kind>`, shortened to IAM's 128 characters.
fn policy_name(stack: &str, region: &str, kind: &str) -> String {
    let tail = format!("-{region}-{kind}");
    let keep = 128usize.saturating_sub(tail.len()).min(stack.len());
    format!("{}{tail}", &stack[..keep])
}

pub fn region_context(cfg: &Config, region: &str) -> RegionContext {
    let home = region == cfg.home_region();
    RegionContext {
        region: region.to_string(),
        suffix: region_suffix(region),
        home,
        description: format!(
            "{} artifact storage in {region} (rendered by provision; Startifact-compatible)",
            cfg.organisation
        ),
        bucket: bucket_context(cfg, region),
        kms: cfg.kms.as_ref().map(|k| KmsContext {
            alias: k.alias.clone(),
            rotation: k.rotation,
            deletion_window_days: k.deletion_window_days,
            description: format!("{} artifact bucket key ({region})", cfg.organisation),
        }),
        identities: cfg
            .identities
            .as_ref()
            .filter(|_| home)
            .map(identities_context),
        policy_names: PolicyNames {
            read: policy_name(&cfg.stack_name, region, "read"),
            write: policy_name(&cfg.stack_name, region, "write"),
            configure: policy_name(&cfg.stack_name, region, "configure"),
            manage: policy_name(&cfg.stack_name, region, "manage"),
        },
    }
}

fn bucket_context(cfg: &Config, region: &str) -> BucketContext {
    let b = &cfg.bucket;
    BucketContext {
        name: cfg.bucket_name_in(region, "${AccountId}"),
        deletion_policy: if b.retain_on_delete {
            "Retain"
        } else {
            "Delete"
        },
        retain: b.retain_on_delete,
        sse_algorithm: match b.encryption {
            Encryption::Kms => "aws:kms",
            Encryption::S3 => "AES256",
        },
        sse_s3: b.encryption == Encryption::S3,
        bucket_key: b.encryption == Encryption::Kms,
        kms: cfg.kms.is_some(),
        versioning: b.versioning,
        access_logging: b.access_logging,
        log_prefix: "artifacts/",
        abort_incomplete_multipart_days: b.abort_incomplete_multipart_days,
        noncurrent_version_expiration_days: b.noncurrent_version_expiration_days,
        cors: b
            .cors
            .iter()
            .map(|r| CorsContext {
                allowed_origins: r.allowed_origins.clone(),
                allowed_methods: r.allowed_methods.clone(),
                allowed_headers: r.allowed_headers.clone(),
                expose_headers: r.expose_headers.clone(),
                max_age_seconds: r.max_age_seconds,
            })
            .collect(),
    }
}

/// The home region's identities: each user with an identifier unique in the template.
fn identities_context(ids: &crate::config::Identities) -> IdentitiesContext {
    let mut seen = std::collections::BTreeSet::new();
    let users = ids
        .users
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut id = identifier(name);
            if id.is_empty() || !seen.insert(id.clone()) {
                id = format!("{id}{}", i + 1);
                seen.insert(id.clone());
            }
            IdentityUser {
                name: name.clone(),
                resource_name: snake_case(&id),
                id,
            }
        })
        .collect();
    IdentitiesContext {
        group: ids.group.clone(),
        users,
        policy: match ids.policy {
            IdentityPolicy::Read => "read",
            IdentityPolicy::Write => "write",
            IdentityPolicy::Manage => "manage",
        },
        policy_logical_id: match ids.policy {
            IdentityPolicy::Read => "ReadPolicy",
            IdentityPolicy::Write => "WritePolicy",
            IdentityPolicy::Manage => "ManagePolicy",
        },
    }
}
