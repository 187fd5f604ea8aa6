use super::*;
use std::path::Path;

fn config(extra: &str) -> Config {
    crate::config::parse(
        Path::new("t.yaml"),
        &format!("version: 1\norganisation: acme\nregions: [eu-west-1, us-east-1]\n{extra}"),
    )
    .unwrap()
}

#[test]
fn policy_arns_follow_the_key_prefix_and_parameter_names() {
    let cfg = config(
        "parameters: {configuration: /cfg, bucket_name: /b/name, artifact_prefix: /art}\nbucket: {key_prefix: \"team/\"}\nkms: {alias: alias/x}\n",
    );
    let ctx = policy_context(&cfg);
    assert_eq!(ctx.arn.bucket, "arn:${Partition}:s3:::${Bucket}");
    assert_eq!(ctx.arn.objects, "arn:${Partition}:s3:::${Bucket}/team/*");
    assert_eq!(
        ctx.arn.metadata,
        "arn:${Partition}:s3:::${Bucket}/team/*/metadata"
    );
    assert_eq!(
        ctx.arn.configuration_parameter,
        "arn:${Partition}:ssm:${Region}:${AccountId}:parameter/cfg"
    );
    assert_eq!(
        ctx.arn.artifact_parameters,
        "arn:${Partition}:ssm:${Region}:${AccountId}:parameter/art*"
    );
    assert_eq!(ctx.arn.key.as_deref(), Some("${KeyArn}"));
    assert!(ctx.kms && !ctx.principals.any);
}

#[test]
fn principals_become_arns_and_session_patterns() {
    let cfg = config("access: {role_users: [DevOps/me@example.com], roles: [ci], users: [bot]}\n");
    let p = policy_context(&cfg).principals;
    assert!(p.any);
    assert_eq!(
        p.arns,
        [
            "arn:${Partition}:iam::${AccountId}:role/ci",
            "arn:${Partition}:iam::${AccountId}:user/bot"
        ]
    );
    assert_eq!(
        p.role_sessions[0].role_arn,
        "arn:${Partition}:iam::${AccountId}:role/DevOps"
    );
    assert_eq!(p.role_sessions[0].user_id_pattern, "*:me@example.com");
    let common = Common::new(&cfg);
    assert_eq!(common.access.role_users[0].role, "DevOps");
    assert_eq!(common.access.role_users[0].session, "me@example.com");
}

#[test]
fn region_context_places_identities_in_the_home_region_only() {
    let cfg = config(
        "home_region: us-east-1\nidentities: {group: Apps, users: [acme-app, acme.app, app], policy: read}\nbucket: {name: \"acme-{account_id}-{region}\", encryption: s3}\n",
    );
    let eu = region_context(&cfg, "eu-west-1");
    let us = region_context(&cfg, "us-east-1");
    assert!(!eu.home && eu.identities.is_none());
    let ids = us.identities.expect("home region has the identities");
    let names: Vec<_> = ids
        .users
        .iter()
        .map(|u| (u.id.as_str(), u.resource_name.as_str()))
        .collect();
    // `acme-app` and `acme.app` make the same identifier: the second gets its position.
    assert_eq!(
        names,
        [
            ("AcmeApp", "acme_app"),
            ("AcmeApp2", "acme_app2"),
            ("App", "app")
        ]
    );
    assert_eq!(ids.policy_logical_id, "ReadPolicy");
    assert_eq!(
        eu.bucket.name.as_deref(),
        Some("acme-${AccountId}-eu-west-1")
    );
    assert_eq!(eu.bucket.sse_algorithm, "AES256");
    assert!(eu.bucket.sse_s3 && !eu.bucket.bucket_key && !eu.bucket.kms);
    assert_eq!(eu.suffix, "eu_west_1");
}

#[test]
fn policy_names_fit_iam_limits() {
    let long = "a".repeat(128);
    let name = policy_name(&long, "ap-southeast-2", "configure");
    assert_eq!(name.len(), 128);
    assert!(name.ends_with("-ap-southeast-2-configure"));
    assert_eq!(policy_name("st", "eu-west-1", "read"), "st-eu-west-1-read");
}

#[test]
fn tags_are_sorted_lists_and_maps() {
    let cfg = config("tags: {team: platform, cost: \"42\"}\n");
    let c = Common::new(&cfg);
    assert_eq!(
        c.cfn_tags,
        json!([{"Key": "cost", "Value": "42"}, {"Key": "team", "Value": "platform"}])
    );
    assert_eq!(c.tag_map, json!({"cost": "42", "team": "platform"}));
    let none = Common::new(&config(""));
    assert!(none.cfn_tags.is_null() && none.tag_map.is_null());
    assert_eq!(none.tag_map_or_empty, json!({}));
}

#[test]
fn without_prefixes_the_policies_cover_what_the_guide_covers() {
    let cfg = config("parameters: {artifact_prefix: \"\"}\nbucket: {key_prefix: \"\"}\n");
    let ctx = policy_context(&cfg);
    // The guide's `parameter${ArtifactParameterNamePrefix}*` and `${Staging}/${BucketKeyPrefix}*`
    // with both prefixes empty.
    assert_eq!(
        ctx.arn.artifact_parameters,
        "arn:${Partition}:ssm:${Region}:${AccountId}:parameter*"
    );
    assert_eq!(ctx.arn.objects, "arn:${Partition}:s3:::${Bucket}/*");
}

#[test]
fn an_adopted_bucket_keeps_its_name_in_its_region_only() {
    let cfg = config(
        "bucket: {name: \"acme-{region}\"}\nadopted: {buckets: {eu-west-1: hand-made-bucket}}\n",
    );
    assert_eq!(
        region_context(&cfg, "eu-west-1").bucket.name.as_deref(),
        Some("hand-made-bucket")
    );
    assert_eq!(
        region_context(&cfg, "us-east-1").bucket.name.as_deref(),
        Some("acme-us-east-1")
    );
    assert_eq!(cfg.adopted_bucket("eu-west-1"), Some("hand-made-bucket"));
    assert_eq!(cfg.adopted_bucket("us-east-1"), None);
}
