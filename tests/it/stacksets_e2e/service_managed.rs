//! A service-managed stack set over an OU with a nested OU: Organizations resolves the two
//! accounts, the preview lists their instances, the operation creates them, and the
//! resources land in both member accounts. (moto deletes no instance through OU targets, so
//! deletion of service-managed sets is covered by the mock tests.)

use super::self_managed::assert_member_account;
use super::*;
use provision::org_accounts::{describe_organization, resolve_organizational_units};
use provision::stacksets::{ApplyOptions, InstanceKey, apply, list_instances, preview};

#[tokio::test]
async fn a_service_managed_set_reaches_every_account_of_an_ou_and_its_nested_ou() {
    let o = org();
    let n = name("svc");
    let cfg = config(
        &n,
        &format!(
            "  targets:\n    organizational_units: [{}]\n    auto_deployment: {{enabled: true}}\n  preferences: {{region_order: [us-east-1], max_concurrent: \"100%\", failure_tolerance: \"100%\"}}\n",
            o.prod
        ),
        &format!("kms: {{alias: alias/{n}}}\n"),
    );
    let wanted = spec(&cfg);
    assert_eq!(wanted.regions, ["us-east-1", "eu-west-1", "eu-north-1"]);
    let client = organizations().await;
    let organization = describe_organization(&client).await.expect("organisation");
    let resolved =
        resolve_organizational_units(&client, &organization, wanted.organizational_units())
            .await
            .expect("resolve");
    let accounts = resolved.account_ids();
    assert_eq!(
        accounts.len(),
        2,
        "prod and its nested prod-eu: {accounts:?}"
    );

    let cf = cloudformation().await;
    let plan = preview(&cf, &wanted, &accounts).await.expect("preview");
    assert_eq!(plan.permission_model, "SERVICE_MANAGED");
    assert_eq!(plan.instances_to_add.len(), 6);
    let report = apply(
        &cf,
        &wanted,
        &plan,
        ApplyOptions::default(),
        &polling(),
        &|_| {},
    )
    .await
    .expect("apply");
    assert!(report.created && report.succeeded(), "{report:?}");
    // moto lists no operation results for OU targets: the instances asked for are reported
    // from ListStackInstances.
    let mut reported: Vec<InstanceKey> = report.operations[0]
        .instances
        .iter()
        .map(|i| i.key.clone())
        .collect();
    reported.sort();
    assert_eq!(reported, plan.instances_to_add);
    assert!(
        report.operations[0]
            .instances
            .iter()
            .all(|i| i.status.as_deref() == Some("CURRENT"))
    );
    let listed = list_instances(&cf, &n).await.expect("instances");
    assert_eq!(listed.len(), 6);

    for account in &accounts {
        assert_member_account(&cfg, account).await;
    }
    let dev = member(
        &o.dev_account,
        &cfg.stacksets
            .as_ref()
            .unwrap()
            .setup_role_arn("aws", &o.dev_account),
        "us-east-1",
    )
    .await;
    assert!(
        !buckets(&dev).await.iter().any(|b| b.starts_with(&n)),
        "the dev OU got nothing"
    );

    let again = preview(&cf, &wanted, &accounts)
        .await
        .expect("preview again");
    assert!(!again.has_changes(), "{again:?}");
}
