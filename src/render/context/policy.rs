//! What the policy templates (`policies/*.json.hbs`) receive: ARNs with placeholders,
//! the options of each policy, and the configured principals.

use crate::config::Config;
use serde::Serialize;

/// What the policy templates receive (`policies/*.json.hbs`). ARNs contain placeholders.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyContext {
    pub arn: Arns,
    pub read: ReadOptions,
    /// A customer-managed key encrypts the bucket.
    pub kms: bool,
    /// `kms:ViaService` value: the key is used only through S3 in this region.
    pub kms_via_service: &'static str,
    pub principals: Principals,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReadOptions {
    pub allow_metadata_append: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Arns {
    pub bucket: String,
    /// Every object under the key prefix.
    pub objects: String,
    /// Metadata objects (`<artifact>/metadata`) under the key prefix.
    pub metadata: String,
    pub configuration_parameter: String,
    pub bucket_name_parameter: String,
    /// Every parameter whose name starts with the artifact prefix.
    pub artifact_parameters: String,
    /// The key (`${KeyArn}`), or null without a customer-managed key.
    pub key: Option<String>,
    pub account_root: String,
    pub log_bucket: String,
    pub log_objects: String,
}

/// The configured principals, as the policy templates use them.
#[derive(Debug, Clone, Serialize)]
pub struct Principals {
    /// Whether any access list is non-empty.
    pub any: bool,
    /// ARNs of the configured roles and users.
    pub arns: Vec<String>,
    /// Role sessions: the role's ARN and the `aws:userId` pattern of the session.
    pub role_sessions: Vec<SessionPrincipal>,
    /// Placeholder of the resolved `aws:userId` list (`${AllowedUserIds}`).
    pub allowed_user_ids: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionPrincipal {
    pub role_arn: String,
    /// `*:SESSION`: any role ID, this session name (the role itself is the principal).
    pub user_id_pattern: String,
}

/// The policy templates' context (the same in every region: ARNs carry placeholders).
pub fn policy_context(cfg: &Config) -> PolicyContext {
    let s3 = |path: &str| format!("arn:${{Partition}}:s3:::{path}");
    let ssm =
        |name: &str| format!("arn:${{Partition}}:ssm:${{Region}}:${{AccountId}}:parameter{name}");
    let iam =
        |kind: &str, name: &str| format!("arn:${{Partition}}:iam::${{AccountId}}:{kind}/{name}");
    let prefix = &cfg.bucket.key_prefix;
    let p = &cfg.parameters;
    let mut arns: Vec<String> = cfg.access.roles.iter().map(|r| iam("role", r)).collect();
    arns.extend(cfg.access.users.iter().map(|u| iam("user", u)));
    let role_sessions = cfg
        .access
        .role_users
        .iter()
        .map(|ru| {
            let (role, session) = ru.split_once('/').unwrap_or((ru.as_str(), ""));
            SessionPrincipal {
                role_arn: iam("role", role),
                user_id_pattern: format!("*:{session}"),
            }
        })
        .collect();
    PolicyContext {
        arn: Arns {
            bucket: s3("${Bucket}"),
            objects: s3(&format!("${{Bucket}}/{prefix}*")),
            metadata: s3(&format!("${{Bucket}}/{prefix}*/metadata")),
            configuration_parameter: ssm(&p.configuration),
            bucket_name_parameter: ssm(&p.bucket_name),
            artifact_parameters: ssm(&format!("{}*", p.artifact_prefix)),
            key: cfg.kms.as_ref().map(|_| "${KeyArn}".to_string()),
            account_root: "arn:${Partition}:iam::${AccountId}:root".into(),
            log_bucket: s3("${LogBucket}"),
            log_objects: s3("${LogBucket}/*"),
        },
        read: ReadOptions {
            allow_metadata_append: cfg.policies.read.allow_metadata_append,
        },
        kms: cfg.kms.is_some(),
        kms_via_service: "s3.${Region}.${UrlSuffix}",
        principals: Principals {
            any: !cfg.access.is_empty(),
            arns,
            role_sessions,
            allowed_user_ids: "${AllowedUserIds}",
        },
    }
}
