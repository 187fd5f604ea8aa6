//! Engine parity: one model of a region's storage, made from a CloudFormation template
//! (`provision render --format cloudformation`) and from a Terraform plan (`terraform show
//! -json`), with the fields that `deployed::check_deployed_storage` reads back from AWS.
//!
//! Names that depend on the deployment are written as the policy templates write them:
//! `${Bucket}`, `${LogBucket}`, `${KeyArn}`, `${AllowedUserIds}`. Partition, account, region
//! and URL suffix are concrete. A Terraform plan must come from a deployed module (a plan
//! after apply, whose values are all known).

pub mod cloudformation;
pub mod terraform;

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One region's storage, as either engine describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionModel {
    pub bucket: Bucket,
    pub log_bucket: Option<LogBucket>,
    pub bucket_name_parameter: Parameter,
    /// By kind: `read`, `write`, `configure`, `manage`.
    pub managed_policies: BTreeMap<String, ManagedPolicy>,
    pub key: Option<Key>,
    pub identities: Option<Identities>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// The fixed name, or the name the engine generated.
    pub name: Option<String>,
    pub encryption: Encryption,
    pub versioning: bool,
    pub public_access_block: [bool; 4],
    pub ownership: Option<String>,
    pub lifecycle: Vec<LifecycleRule>,
    /// Target bucket and object prefix.
    pub logging: Option<(String, String)>,
    pub cors: Vec<CorsRule>,
    pub policy: Value,
    /// Kept when the stack is deleted or the module destroyed.
    pub retained: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Encryption {
    pub algorithm: String,
    /// `${KeyArn}`, or None for the AWS-managed key / SSE-S3.
    pub key: Option<String>,
    pub bucket_key: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LifecycleRule {
    pub id: String,
    pub status: String,
    pub abort_incomplete_multipart_days: Option<i64>,
    pub noncurrent_days: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CorsRule {
    pub origins: Vec<String>,
    pub methods: Vec<String>,
    pub headers: Vec<String>,
    pub expose: Vec<String>,
    pub max_age: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogBucket {
    pub encryption: String,
    pub public_access_block: [bool; 4],
    pub ownership: Option<String>,
    pub lifecycle: Vec<LifecycleRule>,
    pub policy: Value,
    pub retained: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parameter {
    pub name: String,
    pub kind: String,
    pub value: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManagedPolicy {
    /// The policy's name: CloudFormation generates it (None), Terraform sets it.
    pub name: Option<String>,
    pub description: String,
    pub document: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Key {
    pub description: String,
    pub rotation: bool,
    pub deletion_window_days: i64,
    pub policy: Value,
    pub alias: String,
    pub retained: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identities {
    pub group: String,
    /// The kind of the attached managed policy.
    pub policy: String,
    pub users: Vec<String>,
}

/// The concrete values both sides resolve to.
pub struct Concrete<'a> {
    pub region: &'a str,
    pub account_id: &'a str,
    pub partition: &'a str,
    pub url_suffix: &'a str,
}

pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// A list whose order carries no meaning (CORS origins, methods, headers; Terraform keeps them
/// as sets), sorted.
pub(crate) fn set(v: Option<&Value>) -> Vec<String> {
    let mut items = strings(v);
    items.sort();
    items
}

pub(crate) fn text(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_default().to_string()
}

/// One field on which the engines differ: its path in the model and both values.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub path: String,
    pub cloudformation: Value,
    pub terraform: Value,
}

/// Every field on which the two models differ (leaves; lists compared whole unless both
/// sides have the same length).
pub fn differences(cloudformation: &RegionModel, terraform: &RegionModel) -> Vec<Difference> {
    let a = serde_json::to_value(cloudformation).expect("model");
    let b = serde_json::to_value(terraform).expect("model");
    let mut out = Vec::new();
    diff(&a, &b, String::new(), &mut out);
    out
}

fn diff(a: &Value, b: &Value, path: String, out: &mut Vec<Difference>) {
    if a == b {
        return;
    }
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let empty = Map::new();
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let _ = &empty;
                diff(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    join(k),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(p, q, format!("{path}[{i}]"), out);
            }
        }
        _ => out.push(Difference {
            path,
            cloudformation: a.clone(),
            terraform: b.clone(),
        }),
    }
}
