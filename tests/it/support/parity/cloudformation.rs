//! The model of a CloudFormation template: intrinsics resolved into the model's spelling.

use super::{
    Bucket, Concrete, CorsRule, Encryption, Identities, Key, LifecycleRule, LogBucket,
    ManagedPolicy, Parameter, RegionModel, set, strings, text,
};
use crate::support::deployed::policies::normalise_policy;
use serde_json::Value;
use std::collections::BTreeMap;

/// Resolves a template value (long form) into the model's spelling.
fn resolve_cfn(v: &Value, c: &Concrete<'_>) -> Value {
    let symbol = |name: &str| -> String {
        match name {
            "AWS::Partition" => c.partition.to_string(),
            "AWS::AccountId" => c.account_id.to_string(),
            "AWS::Region" => c.region.to_string(),
            "AWS::URLSuffix" => c.url_suffix.to_string(),
            "Bucket" => "${Bucket}".into(),
            "LogBucket" => "${LogBucket}".into(),
            "Key.Arn" => "${KeyArn}".into(),
            "AllowedUserIds" => "${AllowedUserIds}".into(),
            other => format!("${{{other}}}"),
        }
    };
    match v {
        Value::Object(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next().expect("one entry");
            match (k.as_str(), arg) {
                ("Ref", Value::String(name)) => Value::String(symbol(name)),
                ("Fn::GetAtt", Value::Array(parts)) => Value::String(symbol(
                    &parts
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("."),
                )),
                ("Fn::Sub", Value::String(s)) => {
                    let mut out = String::new();
                    let mut rest = s.as_str();
                    while let Some(start) = rest.find("${") {
                        out.push_str(&rest[..start]);
                        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e);
                        out.push_str(&symbol(&rest[start + 2..end]));
                        rest = &rest[(end + 1).min(rest.len())..];
                    }
                    out.push_str(rest);
                    Value::String(out)
                }
                _ => Value::Object(
                    m.iter()
                        .map(|(k, v)| (k.clone(), resolve_cfn(v, c)))
                        .collect(),
                ),
            }
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), resolve_cfn(v, c)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|i| resolve_cfn(i, c)).collect()),
        other => other.clone(),
    }
}

fn pab_cfn(props: &Value) -> [bool; 4] {
    let p = &props["PublicAccessBlockConfiguration"];
    [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ]
    .map(|k| p[k] == Value::Bool(true))
}

fn lifecycle_cfn(props: &Value) -> Vec<LifecycleRule> {
    let mut rules: Vec<LifecycleRule> = props["LifecycleConfiguration"]["Rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| LifecycleRule {
            id: text(r.get("Id")),
            status: text(r.get("Status")),
            abort_incomplete_multipart_days:
                r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"].as_i64(),
            noncurrent_days: r["NoncurrentVersionExpiration"]["NoncurrentDays"].as_i64(),
        })
        .collect();
    rules.sort();
    rules
}

fn retained_cfn(resource: &Value) -> bool {
    resource["DeletionPolicy"] == "Retain"
}

/// The model of one region's CloudFormation template.
/// The resources that exist in `c.region`: those without a condition, and those whose
/// condition (a stack set's `Fn::Equals` on the region) holds there.
fn in_region(resources: Value, parsed: &Value, c: &Concrete<'_>) -> Value {
    let conditions = resolve_cfn(&parsed["Conditions"], c);
    let holds = |name: &str| match conditions[name].get("Fn::Equals") {
        Some(Value::Array(pair)) if pair.len() == 2 => pair[0] == pair[1],
        other => panic!(
            "{}: condition {name}: {other:?} is not an Fn::Equals",
            c.region
        ),
    };
    match resources {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, r)| r.get("Condition").and_then(Value::as_str).is_none_or(holds))
                .collect(),
        ),
        other => other,
    }
}

pub fn from_cloudformation(template: &str, c: &Concrete<'_>) -> RegionModel {
    let parsed = provision::deploy::security::parse_template(template)
        .unwrap_or_else(|e| panic!("{}: {e}", c.region));
    let resources = in_region(resolve_cfn(&parsed["Resources"], c), &parsed, c);
    let props = |logical: &str| resources[logical]["Properties"].clone();
    let parameter = props("BucketNameParameter");
    RegionModel {
        bucket: bucket(&resources),
        log_bucket: resources.get("LogBucket").map(|res| {
            LogBucket {
                encryption:
                    text(
                        res["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                            [0]["ServerSideEncryptionByDefault"]
                            .get("SSEAlgorithm"),
                    ),
                public_access_block: pab_cfn(&res["Properties"]),
                ownership: ownership(&res["Properties"]),
                lifecycle: lifecycle_cfn(&res["Properties"]),
                policy: normalise_policy(&props("LogBucketPolicy")["PolicyDocument"]),
                retained: retained_cfn(res),
            }
        }),
        bucket_name_parameter: Parameter {
            name: text(parameter.get("Name")),
            kind: text(parameter.get("Type")),
            value: text(parameter.get("Value")),
            description: text(parameter.get("Description")),
        },
        managed_policies: managed_policies(&resources),
        key: resources.get("Key").map(|res| {
            let p = &res["Properties"];
            Key {
                description: text(p.get("Description")),
                rotation: p["EnableKeyRotation"] == Value::Bool(true),
                deletion_window_days: p["PendingWindowInDays"].as_i64().unwrap_or(30),
                policy: normalise_policy(&p["KeyPolicy"]),
                alias: text(props("KeyAlias").get("AliasName")),
                retained: retained_cfn(res),
            }
        }),
        identities: identities(&resources),
    }
}

fn ownership(props: &Value) -> Option<String> {
    props["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
        .as_str()
        .map(String::from)
}

fn bucket(resources: &Value) -> Bucket {
    let bucket = &resources["Bucket"]["Properties"];
    let sse = &bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
    let mut cors: Vec<CorsRule> = bucket["CorsConfiguration"]["CorsRules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| CorsRule {
            origins: set(r.get("AllowedOrigins")),
            methods: set(r.get("AllowedMethods")),
            headers: set(r.get("AllowedHeaders")),
            expose: set(r.get("ExposedHeaders")),
            max_age: r["MaxAge"].as_i64(),
        })
        .collect();
    cors.sort();
    Bucket {
        name: bucket
            .get("BucketName")
            .and_then(Value::as_str)
            .map(String::from),
        encryption: Encryption {
            algorithm: text(sse["ServerSideEncryptionByDefault"].get("SSEAlgorithm")),
            key: sse["ServerSideEncryptionByDefault"]
                .get("KMSMasterKeyID")
                .and_then(Value::as_str)
                .map(String::from),
            bucket_key: sse["BucketKeyEnabled"] == Value::Bool(true),
        },
        versioning: bucket["VersioningConfiguration"]["Status"] == "Enabled",
        public_access_block: pab_cfn(bucket),
        ownership: ownership(bucket),
        lifecycle: lifecycle_cfn(bucket),
        logging: bucket.get("LoggingConfiguration").map(|l| {
            (
                text(l.get("DestinationBucketName")),
                text(l.get("LogFilePrefix")),
            )
        }),
        cors,
        policy: normalise_policy(&resources["BucketPolicy"]["Properties"]["PolicyDocument"]),
        retained: retained_cfn(&resources["Bucket"]),
    }
}

fn managed_policies(resources: &Value) -> BTreeMap<String, ManagedPolicy> {
    let mut out = BTreeMap::new();
    for (logical, kind) in [
        ("ReadPolicy", "read"),
        ("WritePolicy", "write"),
        ("ConfigurePolicy", "configure"),
        ("ManagePolicy", "manage"),
    ] {
        if let Some(res) = resources.get(logical) {
            let p = &res["Properties"];
            out.insert(
                kind.to_string(),
                ManagedPolicy {
                    name: p
                        .get("ManagedPolicyName")
                        .and_then(Value::as_str)
                        .map(String::from),
                    description: text(p.get("Description")),
                    document: normalise_policy(&p["PolicyDocument"]),
                },
            );
        }
    }
    out
}

fn identities(resources: &Value) -> Option<Identities> {
    let group = resources.get("IdentityGroup")?;
    let p = &group["Properties"];
    // `!Ref ManagePolicy`, resolved to `${ManagePolicy}`: the kind is `manage`.
    let policy = strings(p.get("ManagedPolicyArns"))
        .first()
        .map(|s| {
            s.trim_start_matches("${")
                .trim_end_matches("Policy}")
                .to_lowercase()
        })
        .unwrap_or_default();
    let mut users: Vec<String> = resources
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::User")
        .map(|(_, r)| text(r["Properties"].get("UserName")))
        .collect();
    users.sort();
    Some(Identities {
        group: text(p.get("GroupName")),
        policy,
        users,
    })
}
