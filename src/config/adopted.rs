//! The rules of `adopted` (what `provision adopt` found): the logical IDs and policy
//! descriptions of an existing stack, and the existing buckets to import.

use super::model::{Adopted, Engine};
use super::{Config, rules};

/// `(field path, message)` pairs, as `validate` collects them.
type Problems = Vec<(String, String)>;

/// The logical IDs of an adopted stack: CloudFormation's rule (letters and digits, at most
/// 255), distinct, and none of the IDs provision gives its other resources.
pub(super) fn check(c: &Config, p: &mut Problems) {
    let Some(a) = &c.adopted else { return };
    const RESERVED: [&str; 8] = [
        "BucketPolicy",
        "Key",
        "KeyAlias",
        "LogBucket",
        "LogBucketPolicy",
        "ManagePolicy",
        "IdentityGroup",
        "AllowedUserIds",
    ];
    let ids = &a.logical_ids;
    let given = [
        ("bucket", &ids.bucket),
        ("bucket_name_parameter", &ids.bucket_name_parameter),
        ("read_policy", &ids.read_policy),
        ("write_policy", &ids.write_policy),
        ("configure_policy", &ids.configure_policy),
    ];
    let mut seen: Vec<&str> = Vec::new();
    for (name, id) in given {
        let Some(id) = id else { continue };
        let field = format!("adopted.logical_ids.{name}");
        if id.is_empty() || id.len() > 255 || !id.chars().all(|ch| ch.is_ascii_alphanumeric()) {
            p.push((
                field,
                format!("`{id}` is not a CloudFormation logical ID: 1 to 255 letters and digits"),
            ));
        } else if RESERVED.contains(&id.as_str()) || seen.contains(&id.as_str()) {
            p.push((
                field,
                format!("`{id}` is already the logical ID of another resource of the stack"),
            ));
        }
        seen.push(id);
    }
    let d = &a.policy_descriptions;
    for (name, text) in [
        ("read", &d.read),
        ("write", &d.write),
        ("configure", &d.configure),
    ] {
        if text.as_ref().is_some_and(|t| t.chars().count() > 1000) {
            p.push((
                format!("adopted.policy_descriptions.{name}"),
                "a managed policy's description has at most 1000 characters".into(),
            ));
        }
    }
    check_buckets(c, a, p);
}

/// Adopted buckets: in a configured region, a valid name, and an engine that can import them
/// (a stack set's template is the same in every account, so it cannot name one account's
/// bucket).
fn check_buckets(c: &Config, a: &Adopted, p: &mut Problems) {
    if !a.buckets.is_empty() && c.engine == Engine::Stacksets {
        p.push((
            "adopted.buckets".into(),
            "engine stacksets cannot import an existing bucket (one template for every account); use engine cloudformation or terraform in that account".into(),
        ));
    }
    for (region, name) in &a.buckets {
        let field = format!("adopted.buckets.{region}");
        if !c.regions.contains(region) {
            p.push((field, format!("`{region}` is not one of `regions`")));
        } else if let Err(e) = rules::bucket_name(name) {
            p.push((field, format!("`{name}` {e}")));
        }
    }
}
