//! The examples of examples/ deployed as they are (names made unique): buckets, keys, aliases.

use super::*;

/// An example of examples/ made runnable on the emulator: names made unique (`acme` → the
/// test's name), SSM parameters of its own, per-region endpoints. Returns the stack name and
/// the regions.
fn example_on_emulator(s: &Setup, file: &str, url: &str) -> (String, Vec<String>) {
    let text =
        std::fs::read_to_string(support::repo_root().join("examples").join(file)).expect("example");
    let mut out = text.replace("acme", &s.name);
    let doc: serde_json::Value = serde_saphyr::from_str(&out).expect("example YAML");
    let regions: Vec<String> = doc["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .map(|r| r.as_str().unwrap_or_default().to_string())
        .collect();
    let with_urls: Vec<(&str, &str)> = regions.iter().map(|r| (r.as_str(), url)).collect();
    out.push_str(&s.parameters_and_endpoints(&with_urls));
    std::fs::write(s.path().join("provision.yaml"), out).expect("write provision.yaml");
    (
        doc["stack_name"].as_str().expect("stack_name").to_string(),
        regions,
    )
}

/// The region's key exists, the alias points at it, and the bucket is encrypted with it.
async fn assert_key(url: &str, stack: &str, alias: &str, region: &str) {
    let key_id = physical_id(url, region, stack, "Key").await;
    let kms = aws_sdk_kms::Client::new(&sdk_config(url, region));
    // moto's DescribeKey fails on keys CloudFormation created (it keeps their policy as an
    // object): ListKeys and ListAliases show them.
    let keys = kms.list_keys().limit(1000).send().await.expect("ListKeys");
    let key_arn = keys
        .keys()
        .iter()
        .find(|k| k.key_id() == Some(key_id.as_str()))
        .and_then(|k| k.key_arn())
        .unwrap_or_else(|| panic!("key {key_id} exists in {region}"))
        .to_string();
    let aliases = kms
        .list_aliases()
        .limit(1000)
        .send()
        .await
        .expect("ListAliases");
    let found = aliases
        .aliases()
        .iter()
        .find(|a| a.alias_name() == Some(alias))
        .unwrap_or_else(|| panic!("{alias} exists in {region}"));
    assert_eq!(found.target_key_id(), Some(key_id.as_str()), "{region}");
    let bucket = physical_id(url, region, stack, "Bucket").await;
    let default = default_encryption(url, region, &bucket).await;
    assert_eq!(
        default.kms_master_key_id(),
        Some(key_arn.as_str()),
        "{region}: the bucket is encrypted with the key"
    );
}

#[tokio::test]
async fn the_multi_region_example_deploys_buckets_keys_and_aliases_in_six_regions() {
    let url = shared_url();
    let s = Setup::new();
    let (stack, regions) = example_on_emulator(&s, "multi-region.yaml", &url);
    assert_eq!(regions.len(), 6);
    let (code, out, _) = s.run(&["apply", "--yes", "--no-termination-protection"]);
    assert_eq!(code, 0);
    assert!(out.contains("Apply: 6 created"), "{out}");
    let regions: Vec<&str> = regions.iter().map(String::as_str).collect();
    assert_deployed(&url, &stack, &s.bucket_parameter(), &regions, "aws:kms").await;
    for r in &regions {
        assert_key(&url, &stack, &format!("alias/{}-artifacts", s.name), r).await;
        let bucket = physical_id(&url, r, &stack, "Bucket").await;
        assert_eq!(
            bucket,
            format!("{}-artifacts-123456789012-{r}", s.name),
            "the configured name"
        );
    }
    let (code, _, _) = s.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "a second plan shows no changes");
}

#[tokio::test]
async fn the_kms_access_lists_example_deploys_with_its_principals() {
    let url = shared_url();
    let s = Setup::new();
    let iam = aws_sdk_iam::Client::new(&sdk_config(&url, "us-east-1"));
    // The example's principals (IAM is account-global: another run may have made them).
    for role in ["ecs-task-config-reader", "DevOps"] {
        let _ = iam
            .create_role()
            .role_name(role)
            .assume_role_policy_document(ECS_TASKS_TRUST)
            .send()
            .await;
    }
    let _ = iam
        .create_user()
        .user_name("external-deployer")
        .send()
        .await;
    let (stack, regions) = example_on_emulator(&s, "kms-access-lists.yaml", &url);
    let (code, out, _) = s.run(&["apply", "--yes", "--no-termination-protection"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("role ecs-task-config-reader (access.roles)"),
        "{out}"
    );
    let regions: Vec<&str> = regions.iter().map(String::as_str).collect();
    assert_deployed(&url, &stack, &s.bucket_parameter(), &regions, "aws:kms").await;
    for r in &regions {
        assert_key(&url, &stack, &format!("alias/{}-config-store", s.name), r).await;
    }
    let (code, _, _) = s.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "a second plan shows no changes");
}
