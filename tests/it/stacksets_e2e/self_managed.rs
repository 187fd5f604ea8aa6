//! A self-managed stack set over two of the three member accounts, in three regions: the
//! administration role checked first, the set and its six instances created, every resource
//! found in its member account, a rerun with nothing to do, an update, drift (which the
//! emulator lacks), destroy (buckets and keys stay, by their DeletionPolicy).

use super::*;
use provision::stacksets::{
    ApplyOptions, StackSetError, apply, check_administration_role, describe_stack_set, destroy,
    detect_drift, preview,
};

#[tokio::test]
async fn a_self_managed_set_in_two_accounts_and_three_regions_from_creation_to_destroy() {
    let o = org();
    let n = name("self");
    let admin_role = format!("{n}-admin");
    let admin_arn = format!("arn:aws:iam::{ACCOUNT_ID}:role/{admin_role}");
    let cfg = config(
        &n,
        &format!(
            "  targets:\n    accounts: [\"{}\", \"{}\"]\n    administration_role_arn: {admin_arn}\n  preferences: {{max_concurrent: 2, failure_tolerance: 1, region_concurrency: parallel}}\n",
            o.dev_account, o.prod_account
        ),
        &format!("kms: {{alias: alias/{n}}}\n"),
    );
    let wanted = spec(&cfg);
    let cf = cloudformation().await;
    let iam = aws_sdk_iam::Client::new(&admin(ADMIN_REGION).await);

    // The administration role: refused by name while missing, accepted once it exists.
    let err = check_administration_role(&iam, &wanted.name, &admin_arn)
        .await
        .expect_err("missing administration role");
    assert!(
        matches!(err, StackSetError::AdministrationRoleMissing { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains(&admin_arn) && err.to_string().contains(ACCOUNT_ID),
        "{err}"
    );
    iam.create_role()
        .role_name(&admin_role)
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudformation.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .expect("CreateRole");
    check_administration_role(&iam, &wanted.name, &admin_arn)
        .await
        .expect("administration role exists");

    let accounts = [o.dev_account.clone(), o.prod_account.clone()];
    let first = preview(&cf, &wanted, &accounts).await.expect("preview");
    assert!(!first.exists && first.has_changes());
    assert_eq!(first.instances_to_add.len(), 6);
    let report = apply(
        &cf,
        &wanted,
        &first,
        ApplyOptions::default(),
        &polling(),
        &|_| {},
    )
    .await
    .expect("apply");
    assert!(report.created && report.succeeded(), "{report:?}");
    assert_eq!(
        report.operations.len(),
        1,
        "accounts with the same regions share one operation"
    );
    let op = &report.operations[0];
    assert_eq!(op.operation.action, "CREATE");
    assert_eq!(op.instances.len(), 6);
    assert!(op.instances.iter().all(
        |i| i.result.as_deref() == Some("SUCCEEDED") && i.status.as_deref() == Some("CURRENT")
    ));

    for account in &accounts {
        assert_member_account(&cfg, account).await;
    }
    // The third account got nothing.
    let third = member(
        &o.prod_eu_account,
        &setup_role(&cfg, &o.prod_eu_account),
        "eu-west-1",
    )
    .await;
    assert!(!buckets(&third).await.iter().any(|b| b.starts_with(&n)));

    // A rerun has nothing to do.
    let again = preview(&cf, &wanted, &accounts)
        .await
        .expect("preview again");
    assert!(!again.has_changes(), "{again:?}");
    assert_eq!(again.instances_unchanged.len(), 6);

    // An update: a new template goes to every instance through one UpdateStackSet.
    let changed = config(
        &n,
        &format!(
            "  targets:\n    accounts: [\"{}\", \"{}\"]\n    administration_role_arn: {admin_arn}\n",
            o.dev_account, o.prod_account
        ),
        &format!("kms: {{alias: alias/{n}}}\ntags: {{team: platform}}\n"),
    );
    let new_spec = spec(&changed);
    let update = preview(&cf, &new_spec, &accounts)
        .await
        .expect("preview update");
    assert!(update.template_changed && update.updates_set());
    assert!(update.setting_changes.contains(&"tags".to_string()));
    let updated = apply(
        &cf,
        &new_spec,
        &update,
        ApplyOptions::default(),
        &polling(),
        &|_| {},
    )
    .await
    .expect("update");
    assert!(updated.updated && updated.succeeded(), "{updated:?}");
    assert_eq!(updated.operations[0].operation.action, "UPDATE");
    let set = describe_stack_set(&cf, &n)
        .await
        .expect("describe")
        .expect("exists");
    assert!(
        set.template.contains("Key: team"),
        "the set holds the new template"
    );

    // moto has no DetectStackSetDrift: the driver says so instead of failing obscurely.
    let err = detect_drift(&cf, &n, None, &polling(), &|_| {})
        .await
        .expect_err("unimplemented on the emulator");
    assert!(matches!(err, StackSetError::Unimplemented { .. }), "{err}");

    let gone = destroy(&cf, &n, &[], false, &BTreeMap::new(), &polling(), &|_| {})
        .await
        .expect("destroy");
    assert!(gone.existed && gone.deleted && gone.succeeded(), "{gone:?}");
    assert_eq!(gone.retained.len(), 6);
    for r in &gone.retained {
        let kept: Vec<&str> = r.resources.iter().map(|x| x.logical_id.as_str()).collect();
        assert_eq!(kept, ["Bucket", "Key", "LogBucket"], "{}", r.key);
    }
    assert!(
        describe_stack_set(&cf, &n)
            .await
            .expect("describe")
            .is_none()
    );
    for account in &accounts {
        let conf = member(account, &setup_role(&cfg, account), "eu-west-1").await;
        let left = buckets(&conf).await;
        for region in REGIONS {
            let bucket = format!("{n}-{account}-{region}");
            assert!(
                left.contains(&bucket),
                "{bucket} stays (DeletionPolicy: Retain)"
            );
            let ssm = aws_sdk_ssm::Client::new(
                &member(account, &setup_role(&cfg, account), region).await,
            );
            let param = ssm
                .get_parameter()
                .name(format!("/{n}/bucket"))
                .send()
                .await;
            assert!(
                param.is_err(),
                "the bucket-name parameter went with the stack in {region}"
            );
        }
    }
}

pub fn setup_role(cfg: &provision::config::Config, account: &str) -> String {
    cfg.stacksets
        .as_ref()
        .expect("stacksets")
        .setup_role_arn("aws", account)
}

/// In `account`: in every region its bucket (encrypted with its key), its bucket-name
/// parameter, its KMS alias, its managed policies; the IAM user once (home region only).
pub async fn assert_member_account(cfg: &provision::config::Config, account: &str) {
    let n = &cfg.organisation;
    let role = setup_role(cfg, account);
    for region in REGIONS {
        let conf = member(account, &role, region).await;
        let bucket = format!("{n}-{account}-{region}");
        assert!(
            buckets(&conf).await.contains(&bucket),
            "{bucket} in {account}"
        );
        let encryption = s3(&conf)
            .get_bucket_encryption()
            .bucket(&bucket)
            .send()
            .await
            .expect("GetBucketEncryption");
        let rule = &encryption
            .server_side_encryption_configuration()
            .expect("encryption")
            .rules()[0];
        assert_eq!(
            rule.apply_server_side_encryption_by_default()
                .map(|d| d.sse_algorithm().as_str()),
            Some("aws:kms"),
            "{bucket}"
        );
        let param = aws_sdk_ssm::Client::new(&conf)
            .get_parameter()
            .name(format!("/{n}/bucket"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("/{n}/bucket in {account} {region}: {e:?}"));
        assert_eq!(
            param.parameter().and_then(|p| p.value()),
            Some(bucket.as_str())
        );
        let aliases = aws_sdk_kms::Client::new(&conf)
            .list_aliases()
            .send()
            .await
            .expect("ListAliases");
        assert!(
            aliases
                .aliases()
                .iter()
                .any(|a| a.alias_name() == Some(&format!("alias/{n}"))),
            "alias/{n} in {account} {region}"
        );
    }
    let iam = aws_sdk_iam::Client::new(&member(account, &role, "us-east-1").await);
    let policies = iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .max_items(1000)
        .send()
        .await
        .expect("ListPolicies");
    let ours: Vec<&str> = policies
        .policies()
        .iter()
        .filter_map(|p| p.policy_name())
        .filter(|p| p.contains(n.as_str()))
        .collect();
    for kind in ["ReadPolicy", "WritePolicy", "ConfigurePolicy"] {
        assert_eq!(
            ours.iter().filter(|p| p.contains(kind)).count(),
            3,
            "one {kind} per region in {account}: {ours:?}"
        );
    }
    // Created in the home region only: in the other regions the condition kept it out
    // (a second CreateUser of the same name would have failed the instance).
    let user = iam
        .get_user()
        .user_name(format!("{n}-bot"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{n}-bot in {account}: {e:?}"));
    assert!(user.user().is_some());
}
