//! `engine: stacksets` through the real binary on the emulator: `plan`, `apply`, `status`,
//! `destroy` of a self-managed set in two of the organisation's three accounts and three
//! regions (the resources checked in each member account through AssumeRole), and a
//! service-managed set over the organisation's two OUs. Bad input first each time: the
//! missing administration and execution roles, trusted access off, an OU that does not
//! exist, an account outside the organisation — each a clear error, nothing created.
//!
//! (moto deletes no instance through OU targets, so the service-managed set is not
//! destroyed here; the mock tests in src/deploy/stacksets/tests/ cover that path.)

use super::self_managed::{assert_member_account, setup_role};
use super::*;
use crate::support::report::json;
use crate::support::{output, provision};
use provision::org_accounts::STACKSETS_SERVICE_PRINCIPAL;
use provision::stacksets::describe_stack_set;
use serde_json::Value;
use std::path::Path;

/// provision.yaml for the emulator (every region's endpoint) in a fresh directory.
fn write_config(dir: &Path, name: &str, stacksets: &str) {
    let mut text = config_text(name, stacksets, &format!("kms: {{alias: alias/{name}}}\n"));
    text.push_str("endpoints:\n");
    for region in REGIONS {
        text.push_str(&format!("  {region}: {}\n", emulator()));
    }
    std::fs::write(dir.join("provision.yaml"), text).expect("write provision.yaml");
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let (code, out, err) = output(provision(dir).args(args));
    eprintln!(
        "$ provision {}\n--- exit {code}\n--- stdout\n{out}--- stderr\n{err}",
        args.join(" ")
    );
    (code, out, err)
}

/// `plan --output json`'s targets (account/region) with their action.
fn planned(report: &Value) -> Vec<(String, String)> {
    report["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .map(|t| {
            (
                format!(
                    "{}/{}",
                    t["account"].as_str().unwrap_or("?"),
                    t["region"].as_str().unwrap_or("?")
                ),
                t["action"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

const TRUST_ANYONE_IN_MANAGEMENT: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;

#[tokio::test]
async fn the_binary_deploys_a_self_managed_set_to_two_accounts_in_three_regions_and_destroys_it() {
    let o = org();
    let n = name("bin");
    let dir = tempfile::tempdir().expect("temp dir");
    let admin_arn = format!("arn:aws:iam::{ACCOUNT_ID}:role/{n}-admin");
    let accounts = [o.dev_account.clone(), o.prod_account.clone()];
    let targets = format!(
        "  targets:\n    accounts: [\"{}\", \"{}\"]\n    administration_role_arn: {admin_arn}\n    execution_role_name: {n}-exec\n  preferences: {{max_concurrent: 2, failure_tolerance: 1}}\n",
        accounts[0], accounts[1]
    );
    let cfg = config(&n, &targets, &format!("kms: {{alias: alias/{n}}}\n"));
    let cf = cloudformation().await;

    // An account outside the organisation: exit 3, named.
    write_config(
        dir.path(),
        &n,
        &targets.replace(&accounts[1], "999999999999"),
    );
    let (code, _, err) = run(dir.path(), &["plan"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("999999999999"), "{err}");

    // The administration role missing: named with its account, nothing created.
    write_config(dir.path(), &n, &targets);
    let (code, _, err) = run(dir.path(), &["plan"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&admin_arn), "{err}");
    let iam = aws_sdk_iam::Client::new(&admin(ADMIN_REGION).await);
    iam.create_role()
        .role_name(format!("{n}-admin"))
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudformation.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .expect("CreateRole (administration)");

    // The execution role missing in both accounts: both named.
    let (code, _, err) = run(dir.path(), &["apply", "--yes"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("{n}-exec")) && accounts.iter().all(|a| err.contains(a)),
        "{err}"
    );
    assert!(
        describe_stack_set(&cf, &n)
            .await
            .expect("describe")
            .is_none()
    );
    for account in &accounts {
        let conf = member(account, &setup_role(&cfg, account), ADMIN_REGION).await;
        aws_sdk_iam::Client::new(&conf)
            .create_role()
            .role_name(format!("{n}-exec"))
            .assume_role_policy_document(TRUST_ANYONE_IN_MANAGEMENT)
            .send()
            .await
            .expect("CreateRole (execution)");
    }

    // The preview: six instances to create, each account × region.
    let (code, out, err) = run(
        dir.path(),
        &["plan", "--detailed-exitcode", "--output", "json"],
    );
    assert_eq!(code, 2, "{err}");
    let report = json(&out);
    assert_eq!(report["engine"], "stacksets");
    let mut expected: Vec<(String, String)> = Vec::new();
    for account in &accounts {
        for region in ["eu-west-1", "us-east-1", "eu-north-1"] {
            expected.push((format!("{account}/{region}"), "create".into()));
        }
    }
    let mut got = planned(&report);
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(report["stack_set"]["permission_model"], "SELF_MANAGED");
    assert_eq!(report["summary"]["create"], 6);
    let (code, text, err) = run(dir.path(), &["plan"]);
    assert_eq!(code, 0, "{err}");
    let mut sorted = accounts.clone();
    sorted.sort();
    assert!(
        text.contains(&format!("{} × eu-west-1", sorted.join(", "))),
        "accounts with the same plan grouped:\n{text}"
    );

    // Apply: every instance reported, the resources in each member account.
    let (code, out, err) = run(dir.path(), &["apply", "--yes", "--output", "json"]);
    assert_eq!(code, 0, "{err}");
    let applied = json(&out);
    let results = applied["results"].as_array().expect("results");
    assert_eq!(results.len(), 6, "{applied}");
    assert!(
        results
            .iter()
            .all(|r| r["result"] == "created" && r["status"] == "CURRENT"),
        "{applied}"
    );
    for account in &accounts {
        assert_member_account(&cfg, account).await;
    }
    let third = member(
        &o.prod_eu_account,
        &setup_role(&cfg, &o.prod_eu_account),
        ADMIN_REGION,
    )
    .await;
    assert!(
        !buckets(&third)
            .await
            .iter()
            .any(|b| b.starts_with(&format!("{n}-"))),
        "the third account gets nothing"
    );

    // A rerun plans nothing; status lists every instance.
    let (code, _, err) = run(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(dir.path(), &["status", "--output", "json"]);
    assert_eq!(code, 0, "{err}");
    let status = json(&out);
    let rows = status["regions"].as_array().expect("regions");
    assert_eq!(rows.len(), 6, "{status}");
    assert!(rows.iter().all(|r| r["status"] == "CURRENT"), "{status}");

    // One account fewer: its three instances are deleted only with --allow-replace (their
    // bucket-name parameters and policies go; the buckets and keys stay, orphaned).
    let only_dev = targets.replace(&format!(", \"{}\"", accounts[1]), "");
    assert_ne!(only_dev, targets);
    write_config(dir.path(), &n, &only_dev);
    // The plan shows them and refuses (exit 1), as apply does, until --allow-replace.
    let (code, out, err) = run(
        dir.path(),
        &["plan", "--detailed-exitcode", "--output", "json"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--allow-replace"), "{err}");
    let deletions: Vec<(String, String)> = planned(&json(&out))
        .into_iter()
        .filter(|(_, action)| action == "delete")
        .collect();
    assert_eq!(deletions.len(), 3, "{out}");
    assert!(deletions.iter().all(|(t, _)| t.starts_with(&accounts[1])));
    let (code, _, err) = run(dir.path(), &["apply", "--yes"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("AWS::S3::Bucket")
            && err.contains(&accounts[1])
            && err.contains("--allow-replace"),
        "{err}"
    );
    let (code, out, err) = run(dir.path(), &["status", "--output", "json"]);
    assert_eq!(code, 0, "{err}");
    let rows = json(&out)["regions"].as_array().map(Vec::len);
    assert_eq!(rows, Some(6), "nothing removed: {out}");
    let (code, out, err) = run(
        dir.path(),
        &["apply", "--yes", "--allow-replace", "--output", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let results = json(&out)["results"].clone();
    let deleted = results
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["result"] == "deleted")
        .count();
    assert_eq!(deleted, 3, "{results}");
    let (code, out, err) = run(dir.path(), &["status", "--output", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        json(&out)["regions"].as_array().map(Vec::len),
        Some(3),
        "{out}"
    );
    let prod = member(&accounts[1], &setup_role(&cfg, &accounts[1]), ADMIN_REGION).await;
    assert!(
        buckets(&prod)
            .await
            .contains(&format!("{n}-{}-eu-west-1", accounts[1])),
        "the removed instance's bucket stays"
    );
    let accounts = [accounts[0].clone()];

    // A retained bucket deleted by hand is not listed as retained (issue 13).
    let gone = format!("{n}-{}-us-east-1", accounts[0]);
    let conf = member(&accounts[0], &setup_role(&cfg, &accounts[0]), ADMIN_REGION).await;
    s3(&conf)
        .delete_bucket()
        .bucket(&gone)
        .send()
        .await
        .expect("delete one instance's bucket by hand");

    // Destroy: the instances and the set go; the buckets stay, listed.
    let (code, out, err) = run(dir.path(), &["destroy", "--yes", "--output", "json"]);
    assert_eq!(code, 0, "{err}");
    let destroyed = json(&out);
    let retained: Vec<String> = destroyed["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .flat_map(|r| r["retained"].as_array().cloned().unwrap_or_default())
        .filter(|x| x["resource_type"] == "AWS::S3::Bucket")
        .filter_map(|x| x["physical_id"].as_str().map(str::to_string))
        .collect();
    for account in &accounts {
        for region in REGIONS {
            let bucket = format!("{n}-{account}-{region}");
            assert_eq!(
                retained.contains(&bucket),
                bucket != gone,
                "{bucket} listed unless deleted by hand: {destroyed}"
            );
        }
    }
    assert!(
        describe_stack_set(&cf, &n)
            .await
            .expect("describe")
            .is_none()
    );
    for account in &accounts {
        let conf = member(account, &setup_role(&cfg, account), ADMIN_REGION).await;
        let left = buckets(&conf).await;
        assert!(
            left.contains(&format!("{n}-{account}-eu-west-1")),
            "{left:?}"
        );
    }
    let (code, out, err) = run(dir.path(), &["status", "--output", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        json(&out)["regions"]
            .as_array()
            .expect("regions")
            .iter()
            .all(|r| r["deployed"] == false),
        "{out}"
    );
}

/// The one test that touches trusted access (organisation-wide state).
#[tokio::test]
async fn the_binary_plans_a_service_managed_set_over_two_ous_once_trusted_access_is_on() {
    let o = org();
    let n = name("binou");
    let dir = tempfile::tempdir().expect("temp dir");
    let targets = format!(
        "  targets:\n    organizational_units: [{}, {}]\n  preferences: {{max_concurrent: \"100%\", failure_tolerance: \"100%\"}}\n",
        o.dev, o.prod
    );
    let cf = cloudformation().await;

    // Trusted access off: refused with the command that turns it on.
    write_config(dir.path(), &n, &targets);
    let (code, _, err) = run(dir.path(), &["plan"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("activate-organizations-access"), "{err}");
    organizations()
        .await
        .enable_aws_service_access()
        .service_principal(STACKSETS_SERVICE_PRINCIPAL)
        .send()
        .await
        .expect("EnableAWSServiceAccess");

    // An OU that does not exist: exit 3, named.
    let missing = format!("{}-zzzzzzzz", o.dev.rsplit_once('-').map_or("", |x| x.0));
    write_config(dir.path(), &n, &targets.replace(&o.dev, &missing));
    let (code, _, err) = run(dir.path(), &["plan"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains(&missing), "{err}");
    assert!(
        describe_stack_set(&cf, &n)
            .await
            .expect("describe")
            .is_none()
    );

    // The OUs resolve to the three accounts (prod-eu nested in prod).
    write_config(dir.path(), &n, &targets);
    let (code, out, err) = run(
        dir.path(),
        &["plan", "--detailed-exitcode", "--output", "json"],
    );
    assert_eq!(code, 2, "{err}");
    let report = json(&out);
    let mut accounts: Vec<&str> = report["stack_set"]["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    accounts.sort();
    let mut want = vec![
        o.dev_account.as_str(),
        o.prod_account.as_str(),
        o.prod_eu_account.as_str(),
    ];
    want.sort();
    assert_eq!(accounts, want, "{report}");
    assert_eq!(planned(&report).len(), 9);
    assert_eq!(report["stack_set"]["permission_model"], "SERVICE_MANAGED");

    // Apply reaches all three accounts.
    let (code, _, err) = run(dir.path(), &["apply", "--yes"]);
    assert_eq!(code, 0, "{err}");
    let cfg = config(&n, &targets, &format!("kms: {{alias: alias/{n}}}\n"));
    assert_member_account(&cfg, &o.dev_account).await;
    let (code, _, err) = run(dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "{err}");
}

#[tokio::test]
async fn setup_all_accounts_writes_the_organisation_configuration_in_every_account_of_the_ous() {
    let o = org();
    let n = name("setup");
    let dir = tempfile::tempdir().expect("temp dir");
    let targets = format!("  targets:\n    organizational_units: [{}]\n", o.prod);
    write_config(dir.path(), &n, &targets);
    let (code, out, err) = run(dir.path(), &["setup", "--all-accounts", "--output", "json"]);
    assert_eq!(code, 0, "{err}");
    let report = json(&out);
    let rows = report["regions"].as_array().expect("regions");
    assert_eq!(rows.len(), 6, "prod and prod-eu × 3 regions: {report}");
    assert!(rows.iter().all(|r| r["status"] == "created"), "{report}");
    let cfg = config(&n, &targets, "");
    for account in [&o.prod_account, &o.prod_eu_account] {
        for region in REGIONS {
            let conf = member(account, &setup_role(&cfg, account), region).await;
            let value = aws_sdk_ssm::Client::new(&conf)
                .get_parameter()
                .name(format!("/{n}/startifact"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("/{n}/startifact in {account} {region}: {e:?}"))
                .parameter()
                .and_then(|p| p.value())
                .map(str::to_string)
                .unwrap_or_default();
            assert!(
                value.contains(&format!("\"bucket_name_param\": \"/{n}/bucket\"")),
                "{value}"
            );
        }
    }
    let dev = member(
        &o.dev_account,
        &setup_role(&cfg, &o.dev_account),
        ADMIN_REGION,
    )
    .await;
    assert!(
        aws_sdk_ssm::Client::new(&dev)
            .get_parameter()
            .name(format!("/{n}/startifact"))
            .send()
            .await
            .is_err(),
        "an account outside the OU is left alone"
    );
    // Again: nothing to write; --check agrees.
    let (code, _, err) = run(dir.path(), &["setup", "--all-accounts", "--check"]);
    assert_eq!(code, 0, "{err}");
}
