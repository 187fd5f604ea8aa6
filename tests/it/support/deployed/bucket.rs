//! The bucket, its key, and the log bucket, as S3 and KMS report them.

use super::{Clients, expect};
use provision::config::{Config, Encryption};
use serde_json::Value;

/// The key behind the configured alias: customer-managed, enabled, rotation as configured.
pub(super) async fn check_key(
    cfg: &Config,
    clients: &Clients,
    problem: &mut impl FnMut(String),
) -> Option<String> {
    let kms_cfg = cfg.kms.as_ref()?;
    let aliases = clients
        .kms
        .list_aliases()
        .limit(1000)
        .send()
        .await
        .expect("ListAliases");
    let Some(key_id) = aliases
        .aliases()
        .iter()
        .find(|a| a.alias_name() == Some(kms_cfg.alias.as_str()))
        .and_then(|a| a.target_key_id())
        .map(str::to_string)
    else {
        problem(format!("key alias {}: missing", kms_cfg.alias));
        return None;
    };
    let key = clients
        .kms
        .describe_key()
        .key_id(&key_id)
        .send()
        .await
        .expect("DescribeKey");
    let meta = key.key_metadata().expect("key metadata");
    expect(
        problem,
        "key manager",
        "CUSTOMER",
        meta.key_manager().map(|m| m.as_str()).unwrap_or("?"),
    );
    expect(
        problem,
        "key state",
        "Enabled",
        meta.key_state().map(|s| s.as_str()).unwrap_or("?"),
    );
    let rotation = clients
        .kms
        .get_key_rotation_status()
        .key_id(&key_id)
        .send()
        .await
        .expect("GetKeyRotationStatus")
        .key_rotation_enabled();
    if rotation != kms_cfg.rotation {
        problem(format!(
            "key rotation: expected {}, found {rotation}",
            kms_cfg.rotation
        ));
    }
    meta.arn().map(str::to_string)
}

pub(super) async fn check_encryption(
    cfg: &Config,
    clients: &Clients,
    bucket: &str,
    key_arn: Option<&str>,
    problem: &mut impl FnMut(String),
) {
    let Ok(out) = clients
        .s3
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
    else {
        problem("default encryption: missing".into());
        return;
    };
    let rules = out
        .server_side_encryption_configuration()
        .map(|c| c.rules().to_vec())
        .unwrap_or_default();
    let Some(rule) = rules.first() else {
        problem("default encryption: no rule".into());
        return;
    };
    let default = rule.apply_server_side_encryption_by_default();
    let (algorithm, bucket_key) = match cfg.bucket.encryption {
        Encryption::Kms => ("aws:kms", true),
        Encryption::S3 => ("AES256", false),
    };
    expect(
        problem,
        "encryption algorithm",
        algorithm,
        default.map(|d| d.sse_algorithm().as_str()).unwrap_or("?"),
    );
    let key = default
        .and_then(|d| d.kms_master_key_id())
        .filter(|k| !k.is_empty());
    match (key_arn, key) {
        (Some(expected), Some(actual)) => expect(problem, "encryption key", expected, actual),
        (None, None) => {}
        (expected, actual) => problem(format!(
            "encryption key: expected {expected:?}, found {actual:?}"
        )),
    }
    if rule.bucket_key_enabled().unwrap_or(false) != bucket_key {
        problem(format!(
            "bucket key: expected {bucket_key}, found {:?}",
            rule.bucket_key_enabled()
        ));
    }
}

/// Versioning, the public access block, object ownership.
pub(super) async fn check_bucket_basics(
    cfg: &Config,
    clients: &Clients,
    bucket: &str,
    problem: &mut impl FnMut(String),
) {
    let versioning = clients
        .s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketVersioning");
    let enabled = versioning.status().map(|s| s.as_str()) == Some("Enabled");
    if enabled != cfg.bucket.versioning {
        problem(format!(
            "versioning: expected {}, found {:?}",
            cfg.bucket.versioning,
            versioning.status()
        ));
    }
    check_private(clients, bucket, "bucket", problem).await;
}

/// All four public access block settings on, ACLs disabled (BucketOwnerEnforced).
pub(super) async fn check_private(
    clients: &Clients,
    bucket: &str,
    what: &str,
    problem: &mut impl FnMut(String),
) {
    match clients
        .s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => {
            let c = out.public_access_block_configuration();
            let all = c.is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            });
            if !all {
                problem(format!("{what}: public access block not all on: {c:?}"));
            }
        }
        Err(_) => problem(format!("{what}: public access block missing")),
    }
    let ownership = clients
        .s3
        .get_bucket_ownership_controls()
        .bucket(bucket)
        .send()
        .await
        .ok()
        .and_then(|o| {
            o.ownership_controls()
                .and_then(|c| c.rules().first())
                .map(|r| r.object_ownership().as_str().to_string())
        });
    expect(
        problem,
        &format!("{what}: object ownership"),
        "BucketOwnerEnforced",
        ownership.as_deref().unwrap_or("missing"),
    );
}

/// A lifecycle rule as (id, status, whole bucket, abort days, noncurrent days).
type Rule = (String, String, bool, Option<i32>, Option<i32>);

async fn lifecycle(clients: &Clients, bucket: &str) -> Vec<Rule> {
    let Ok(out) = clients
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
    else {
        return Vec::new();
    };
    let mut rules: Vec<Rule> = out
        .rules()
        .iter()
        .map(|r| {
            let whole = r.filter().is_none_or(|f| {
                f.prefix().unwrap_or_default().is_empty()
                    && f.tag().is_none()
                    && f.and().is_none()
                    && f.object_size_greater_than().is_none()
                    && f.object_size_less_than().is_none()
            });
            (
                r.id().unwrap_or_default().to_string(),
                r.status().as_str().to_string(),
                whole,
                r.abort_incomplete_multipart_upload()
                    .and_then(|a| a.days_after_initiation()),
                r.noncurrent_version_expiration()
                    .and_then(|n| n.noncurrent_days()),
            )
        })
        .collect();
    rules.sort();
    rules
}

pub(super) async fn check_lifecycle(
    cfg: &Config,
    clients: &Clients,
    bucket: &str,
    problem: &mut impl FnMut(String),
) {
    let abort = cfg.bucket.abort_incomplete_multipart_days as i32;
    let mut expected: Vec<Rule> = vec![(
        "abort-incomplete-multipart-uploads".into(),
        "Enabled".into(),
        true,
        Some(abort),
        None,
    )];
    if let Some(days) = cfg.bucket.noncurrent_version_expiration_days {
        expected.push((
            "expire-noncurrent-versions".into(),
            "Enabled".into(),
            true,
            None,
            Some(days as i32),
        ));
    }
    expected.sort();
    let actual = lifecycle(clients, bucket).await;
    if actual != expected {
        problem(format!(
            "lifecycle rules: expected {expected:?}, found {actual:?}"
        ));
    }
}

pub(super) async fn check_cors(
    cfg: &Config,
    clients: &Clients,
    bucket: &str,
    problem: &mut impl FnMut(String),
) {
    // Origins, methods and headers are sets to S3 (and to Terraform, which sorts them).
    let sorted = |items: &[String]| {
        let mut items = items.to_vec();
        items.sort();
        items
    };
    let rule = |origins: &[String],
                methods: &[String],
                headers: &[String],
                expose: &[String],
                max_age: Option<i64>| {
        serde_json::json!({
            "origins": sorted(origins),
            "methods": sorted(methods),
            "headers": sorted(headers),
            "expose": sorted(expose),
            "max_age": max_age,
        })
    };
    let mut actual: Vec<Value> = match clients.s3.get_bucket_cors().bucket(bucket).send().await {
        Ok(out) => out
            .cors_rules()
            .iter()
            .map(|r| {
                rule(
                    r.allowed_origins(),
                    r.allowed_methods(),
                    r.allowed_headers(),
                    r.expose_headers(),
                    r.max_age_seconds().map(i64::from),
                )
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut expected: Vec<Value> = cfg
        .bucket
        .cors
        .iter()
        .map(|r| {
            rule(
                &r.allowed_origins,
                &r.allowed_methods,
                &r.allowed_headers,
                &r.expose_headers,
                r.max_age_seconds.map(i64::from),
            )
        })
        .collect();
    actual.sort_by_key(Value::to_string);
    expected.sort_by_key(Value::to_string);
    if actual != expected {
        problem(format!(
            "CORS rules: expected {expected:?}, found {actual:?}"
        ));
    }
}

/// The bucket logs to a private, SSE-S3 log bucket with a one-day multipart rule; returns
/// the log bucket.
pub(super) async fn check_logging(
    cfg: &Config,
    clients: &Clients,
    bucket: &str,
    problem: &mut impl FnMut(String),
) -> Option<String> {
    let logging = clients
        .s3
        .get_bucket_logging()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketLogging");
    let target = logging
        .logging_enabled()
        .map(|l| (l.target_bucket().to_string(), l.target_prefix().to_string()));
    if !cfg.bucket.access_logging {
        if let Some(t) = target {
            problem(format!("access logging: expected none, found {t:?}"));
        }
        return None;
    }
    let Some((log_bucket, prefix)) = target else {
        problem("access logging: missing".into());
        return None;
    };
    expect(problem, "log object prefix", "artifacts/", &prefix);
    check_private(clients, &log_bucket, "log bucket", problem).await;
    let algorithm = clients
        .s3
        .get_bucket_encryption()
        .bucket(&log_bucket)
        .send()
        .await
        .ok()
        .and_then(|o| {
            o.server_side_encryption_configuration()
                .and_then(|c| c.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default())
                .map(|d| d.sse_algorithm().as_str().to_string())
        });
    expect(
        problem,
        "log bucket encryption",
        "AES256",
        algorithm.as_deref().unwrap_or("missing"),
    );
    let rules = lifecycle(clients, &log_bucket).await;
    let expected: Vec<Rule> = vec![(
        "abort-incomplete-multipart-uploads".into(),
        "Enabled".into(),
        true,
        Some(1),
        None,
    )];
    if rules != expected {
        problem(format!(
            "log bucket lifecycle: expected {expected:?}, found {rules:?}"
        ));
    }
    Some(log_bucket)
}
