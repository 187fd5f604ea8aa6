//! The policies (bucket, log bucket, key, managed) and the identities, as S3, KMS and IAM
//! report them, against the documents the configuration renders with the names found.

use super::{Clients, Found};
use provision::config::Config;
use provision::render::{DeployedNames, PolicyKind, Templates};
use serde_json::Value;
use std::collections::BTreeMap;

/// The `aws:userId` patterns of the access lists, resolved through IAM and STS as `plan`
/// and the Terraform module do: the account, the deploying identity, `ROLEID:*` per role,
/// `ROLEID:SESSION` per role session, the user ID per user.
pub async fn allowed_user_ids(cfg: &Config, clients: &Clients) -> Vec<String> {
    if cfg.access.is_empty() {
        return Vec::new();
    }
    let me = clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    let mut ids = vec![
        me.account().unwrap_or_default().to_string(),
        me.user_id().unwrap_or_default().to_string(),
    ];
    let role_id = |name: String| {
        let iam = clients.iam.clone();
        async move {
            iam.get_role()
                .role_name(&name)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GetRole {name}: {e:?}"))
                .role()
                .map(|r| r.role_id().to_string())
                .unwrap_or_default()
        }
    };
    for role in &cfg.access.roles {
        ids.push(format!("{}:*", role_id(role.clone()).await));
    }
    for ru in &cfg.access.role_users {
        let (role, session) = ru.split_once('/').unwrap_or((ru, ""));
        ids.push(format!("{}:{session}", role_id(role.to_string()).await));
    }
    for user in &cfg.access.users {
        let out = clients
            .iam
            .get_user()
            .user_name(user)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetUser {user}: {e:?}"));
        ids.push(
            out.user()
                .map(|u| u.user_id().to_string())
                .unwrap_or_default(),
        );
    }
    ids.dedup();
    ids
}

/// The documents the configuration renders for this region, with the names found.
fn expected_documents(cfg: &Config, region: &str, found: &Found) -> BTreeMap<&'static str, Value> {
    let names = DeployedNames {
        region,
        account_id: &found.account_id,
        bucket: &found.bucket,
        log_bucket: found.log_bucket.as_deref().unwrap_or("no-log-bucket"),
        key_arn: found.key_arn.as_deref(),
        allowed_user_ids: &found.allowed_user_ids,
    };
    provision::render::deployed_policies(cfg, &Templates::default(), &names)
        .expect("the embedded policy templates render")
        .into_iter()
        .map(|(kind, doc)| (kind.stem(), normalise_policy(&doc)))
        .collect()
}

/// The bucket, log-bucket and key policies, and the managed policies (found by description
/// and document: their names are the engine's business).
pub(super) async fn check_policies(
    cfg: &Config,
    clients: &Clients,
    found: &Found,
    problem: &mut impl FnMut(String),
) {
    let region = clients.region.as_str();
    let expected = expected_documents(cfg, region, found);
    let bucket_policy = |bucket: String| {
        let s3 = clients.s3.clone();
        async move {
            s3.get_bucket_policy()
                .bucket(&bucket)
                .send()
                .await
                .ok()
                .and_then(|o| o.policy().map(str::to_string))
                .and_then(|p| serde_json::from_str::<Value>(&p).ok())
                .map(|v| normalise_policy(&v))
        }
    };
    let compare = |problem: &mut dyn FnMut(String),
                   what: &str,
                   expected: Option<&Value>,
                   actual: Option<Value>| {
        if expected != actual.as_ref() {
            problem(format!(
                "{what}: expected {}, found {}",
                expected.map(Value::to_string).unwrap_or("none".into()),
                actual.map(|v| v.to_string()).unwrap_or("none".into())
            ));
        }
    };
    compare(
        problem,
        "bucket policy",
        expected.get("bucket"),
        bucket_policy(found.bucket.clone()).await,
    );
    if let Some(log_bucket) = &found.log_bucket {
        compare(
            problem,
            "log bucket policy",
            expected.get("log-bucket"),
            bucket_policy(log_bucket.clone()).await,
        );
    }
    if let Some(key) = &found.key_arn {
        let policy = clients
            .kms
            .get_key_policy()
            .key_id(key)
            .policy_name("default")
            .send()
            .await
            .ok()
            .and_then(|o| o.policy().map(str::to_string))
            .and_then(|p| serde_json::from_str::<Value>(&p).ok())
            .map(|v| normalise_policy(&v));
        compare(problem, "key policy", expected.get("key"), policy);
    }
    check_managed_policies(cfg, clients, &expected, problem).await;
}

/// Each managed policy the configuration has: one with its description and exactly the
/// expected document (names and ARNs are the engine's business).
async fn check_managed_policies(
    cfg: &Config,
    clients: &Clients,
    expected: &BTreeMap<&'static str, Value>,
    problem: &mut impl FnMut(String),
) {
    let managed = managed_policies(clients).await;
    for (kind, description) in managed_descriptions(cfg, &clients.region) {
        let want = expected
            .get(kind.stem())
            .expect("a managed policy document");
        let candidates: Vec<&Value> = managed
            .iter()
            .filter(|(d, _, _)| *d == description)
            .map(|(_, _, doc)| doc)
            .collect();
        if !candidates.contains(&want) {
            problem(format!(
                "managed policy {:?} ({}): none has the expected document {want}; with that description: {}",
                description,
                kind.stem(),
                candidates
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
    }
}

/// The managed policies the configuration has in `region`, with their descriptions (the
/// same in both engines).
fn managed_descriptions(cfg: &Config, region: &str) -> Vec<(PolicyKind, String)> {
    let mut out = vec![
        (
            PolicyKind::Read,
            format!("Read-only access to staged artifacts ({region})"),
        ),
        (
            PolicyKind::Write,
            format!("Write-only access to staged artifacts ({region})"),
        ),
        (
            PolicyKind::Configure,
            format!("Grants permission to configure Startifact ({region})"),
        ),
    ];
    if cfg.policies.manage.enabled {
        out.push((
            PolicyKind::Manage,
            format!("Create, read, update and delete objects in the artifact bucket ({region})"),
        ));
    }
    out
}

/// Every customer-managed policy: (description, ARN, default document normalised).
async fn managed_policies(clients: &Clients) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = clients
            .iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .set_marker(marker.clone())
            .send()
            .await
            .expect("ListPolicies");
        for p in page.policies() {
            let arn = p.arn().unwrap_or_default().to_string();
            // ListPolicies leaves the description out: GetPolicy has it.
            let description = clients
                .iam
                .get_policy()
                .policy_arn(&arn)
                .send()
                .await
                .ok()
                .and_then(|o| o.policy().and_then(|p| p.description()).map(str::to_string))
                .unwrap_or_default();
            let version = p.default_version_id().unwrap_or("v1").to_string();
            let doc = clients
                .iam
                .get_policy_version()
                .policy_arn(&arn)
                .version_id(&version)
                .send()
                .await
                .ok()
                .and_then(|o| {
                    o.policy_version()
                        .and_then(|v| v.document())
                        .map(str::to_string)
                })
                .and_then(|d| serde_json::from_str::<Value>(&super::super::percent_decode(&d)).ok())
                .map(|v| normalise_policy(&v))
                .unwrap_or(Value::Null);
            out.push((description, arn, doc));
        }
        marker = page.marker().map(str::to_string);
        if !page.is_truncated() || marker.is_none() {
            break;
        }
    }
    out
}

/// The IAM group with its users and the one managed policy the configuration names.
pub(super) async fn check_identities(
    cfg: &Config,
    clients: &Clients,
    found: &Found,
    problem: &mut impl FnMut(String),
) {
    let Some(ids) = &cfg.identities else {
        return;
    };
    let Ok(group) = clients.iam.get_group().group_name(&ids.group).send().await else {
        problem(format!("IAM group {}: missing", ids.group));
        return;
    };
    let mut users: Vec<String> = group
        .users()
        .iter()
        .map(|u| u.user_name().to_string())
        .collect();
    users.sort();
    let mut expected_users = ids.users.clone();
    expected_users.sort();
    if users != expected_users {
        problem(format!(
            "IAM group {} members: expected {expected_users:?}, found {users:?}",
            ids.group
        ));
    }
    let attached = clients
        .iam
        .list_attached_group_policies()
        .group_name(&ids.group)
        .send()
        .await
        .expect("ListAttachedGroupPolicies");
    let arns: Vec<String> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect();
    let kind = match ids.policy {
        provision::config::IdentityPolicy::Read => "read",
        provision::config::IdentityPolicy::Write => "write",
        provision::config::IdentityPolicy::Manage => "manage",
    };
    let want = expected_documents(cfg, &clients.region, found)
        .remove(kind)
        .expect("the identities' policy document");
    let managed = managed_policies(clients).await;
    let docs: Vec<&Value> = managed
        .iter()
        .filter(|(_, arn, _)| arns.contains(arn))
        .map(|(_, _, d)| d)
        .collect();
    if docs != [&want] {
        problem(format!(
            "IAM group {}: expected exactly the {kind} policy attached, found {} policies {arns:?}",
            ids.group,
            docs.len()
        ));
    }
}

/// A policy document in one spelling: `Action`, `Resource`, `Principal` lists and condition
/// values as sorted lists (IAM and the engines may write a one-element list as a string and
/// order sets freely); statements keep their order.
pub fn normalise_policy(doc: &Value) -> Value {
    fn sorted_list(v: &Value) -> Value {
        match v {
            Value::String(_) => Value::Array(vec![v.clone()]),
            Value::Array(items) => {
                let mut items = items.clone();
                items.sort_by_key(|i| i.to_string());
                Value::Array(items)
            }
            other => other.clone(),
        }
    }
    fn statement(s: &Value) -> Value {
        let Value::Object(map) = s else {
            return s.clone();
        };
        let mut out = serde_json::Map::new();
        for (k, v) in map {
            let v = match k.as_str() {
                "Action" | "NotAction" | "Resource" | "NotResource" => sorted_list(v),
                "Principal" | "NotPrincipal" => match v {
                    Value::Object(p) => Value::Object(
                        p.iter()
                            .map(|(pk, pv)| (pk.clone(), sorted_list(pv)))
                            .collect(),
                    ),
                    other => other.clone(),
                },
                "Condition" => match v {
                    Value::Object(ops) => Value::Object(
                        ops.iter()
                            .map(|(op, keys)| {
                                let keys = match keys {
                                    Value::Object(k) => Value::Object(
                                        k.iter()
                                            .map(|(ck, cv)| (ck.clone(), sorted_list(cv)))
                                            .collect(),
                                    ),
                                    other => other.clone(),
                                };
                                (op.clone(), keys)
                            })
                            .collect(),
                    ),
                    other => other.clone(),
                },
                _ => v.clone(),
            };
            out.insert(k.clone(), v);
        }
        Value::Object(out)
    }
    let mut doc = doc.clone();
    if let Some(statements) = doc.get_mut("Statement") {
        let normalised = match &*statements {
            Value::Array(items) => Value::Array(items.iter().map(statement).collect()),
            single => Value::Array(vec![statement(single)]),
        };
        *statements = normalised;
    }
    doc
}
