//! The Terraform engine through the real binary (`provision --engine terraform` by
//! configuration), on two private emulators, one per region (`endpoints:` in the
//! configuration), checked through the SDK: hand-made buckets adopted (imported by a saved first
//! plan, `adopted.rs`) and applied; a second plan that changes nothing; a
//! configuration change planned as exactly that change, saved and applied (a second run meanwhile
//! meets the state lock); drift found per
//! region; one region's emulator stopped (the error names the region) and a rerun that
//! completes once it is back; destroy, which leaves only what is retained.

use super::adopted::HandMade;
use crate::support::moto::Emulators;
use crate::support::storage::block_on;
use crate::support::terraform::{environment, tools};
use crate::support::{moto_s3, output, provision, sdk_config, unique};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

const HOME: &str = "eu-west-1";
const OTHER: &str = "us-east-1";

fn write_config(
    dir: &Path,
    name: &str,
    urls: [&str; 2],
    noncurrent_days: Option<u32>,
    adopted: &HandMade,
) {
    let days = noncurrent_days
        .map(|d| format!("  noncurrent_version_expiration_days: {d}\n"))
        .unwrap_or_default();
    std::fs::write(
        dir.join("provision.yaml"),
        format!(
            "version: 1\norganisation: {name}\nregions: [{HOME}, {OTHER}]\nstack_name: {name}\nengine: terraform\n{}endpoints:\n  {HOME}: {}\n  {OTHER}: {}\n",
            adopted.config(&days),
            urls[0],
            urls[1]
        ),
    )
    .expect("write provision.yaml");
}

/// `provision ARGS` in `dir` with the test bed's Terraform.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = provision(dir);
    cmd.envs(environment(None))
        .env("PROVISION_TERRAFORM", &tools().binary)
        .args(args);
    cmd
}

/// `provision ARGS` with the test bed's Terraform: (exit code, stdout, stderr).
fn run(dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = command(dir, args);
    cmd.envs(extra.iter().copied());
    let started = std::time::Instant::now();
    let result = output(&mut cmd);
    eprintln!(
        "terraform engine: provision {args:?} took {:.1?}",
        started.elapsed()
    );
    result
}

fn expect(dir: &Path, args: &[&str], code: i32) -> String {
    let (got, stdout, stderr) = run(dir, args, &[]);
    assert_eq!(got, code, "provision {args:?}\n{stdout}\n{stderr}");
    stdout
}

/// The module's outputs for one region, from `status --output json`.
fn outputs(dir: &Path, region: &str) -> Value {
    let status = crate::support::schema::document(&expect(dir, &["status", "--output", "json"], 0));
    status["regions"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["region"] == region))
        .map(|r| r["outputs"].clone())
        .unwrap_or_else(|| panic!("no status of {region}: {status}"))
}

/// An S3 client that reads moto's bucket settings (`support::moto_s3`).
fn s3_client(url: &str, region: &str) -> aws_sdk_s3::Client {
    block_on(moto_s3::client(url, region))
}

async fn noncurrent_days(s3: &aws_sdk_s3::Client, bucket: &str) -> Option<i32> {
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .expect("lifecycle");
    lifecycle
        .rules()
        .iter()
        .find_map(|r| r.noncurrent_version_expiration()?.noncurrent_days())
}

#[test]
fn the_terraform_engine_applies_plans_recovers_and_destroys_keeping_the_buckets() {
    // Two regions, and the second region's emulator once more after its outage.
    let mut emulators = Emulators::reserve(3);
    let home = emulators.start();
    let mut other = emulators.start();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let name = unique("tfe");
    // Buckets made by hand in both regions, two versions staged into them: adopted.
    let mut hand = HandMade::create(&[(HOME, home.url()), (OTHER, other.url())]);
    write_config(dir, &name, [&home.url(), &other.url()], None, &hand);

    // The first plan imports each bucket and its parameter, replaces and removes nothing;
    // saved, it is what apply applies.
    let planned = expect(dir, &["plan", "--out", "first.json"], 0);
    hand.check_first_plan(&planned);
    let applied = expect(dir, &["apply", "--yes", "first.json"], 0);
    assert!(applied.contains("Apply: 2 created"), "{applied}");
    let buckets: Vec<(String, &str, String)> = [(home.url(), HOME), (other.url(), OTHER)]
        .into_iter()
        .map(|(url, region)| {
            let o = outputs(dir, region);
            (
                url,
                region,
                o["bucket_name"].as_str().expect("bucket_name").to_string(),
            )
        })
        .collect();
    for (url, region, bucket) in &buckets {
        let versioning = block_on(
            s3_client(url, region)
                .get_bucket_versioning()
                .bucket(bucket)
                .send(),
        )
        .expect("versioning");
        assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
        assert_ne!(
            block_on(noncurrent_days(&s3_client(url, region), bucket)),
            Some(45)
        );
        hand.check_adopted(region, bucket);
    }
    hand.check_downloads();
    hand.restore_policies();

    // A second plan changes nothing.
    expect(dir, &["plan", "--detailed-exitcode"], 0);

    // A configuration change is planned as exactly that change, in every region.
    write_config(dir, &name, [&home.url(), &other.url()], Some(45), &hand);
    let plan: Value = serde_json::from_str(&expect(
        dir,
        &[
            "plan",
            "--detailed-exitcode",
            "--output",
            "json",
            "--out",
            "plan.json",
        ],
        2,
    ))
    .expect("plan JSON");
    assert_eq!(plan["engine"], "terraform", "{plan}");
    for region in [HOME, OTHER] {
        let entry = plan["regions"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["region"] == region))
            .unwrap_or_else(|| panic!("{region} planned: {plan}"));
        let changes: Vec<(&str, &str)> = entry["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .map(|c| {
                (
                    c["action"].as_str().unwrap_or_default(),
                    c["logical_id"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        let suffix = region.replace('-', "_");
        let expected = format!("aws_s3_bucket_lifecycle_configuration.artifacts_{suffix}");
        assert_eq!(
            changes,
            [("modify", expected.as_str())],
            "{region}: {entry}"
        );
    }
    assert!(
        dir.join("plan.json.tfplan").is_file(),
        "Terraform's plan beside the plan file"
    );
    // While it is applied, a second run meets the state lock: exit 1, the lock named.
    let mut applying = command(dir, &["apply", "--yes", "plan.json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start apply");
    let lock_info = dir.join(format!(
        ".provision/terraform/{name}/.terraform.tfstate.lock.info"
    ));
    while !lock_info.exists() {
        if let Ok(Some(status)) = applying.try_wait() {
            panic!("apply ended ({status}) before a second run could meet its lock");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (code, stdout, stderr) = run(dir, &["plan"], &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("the Terraform state is locked (lock "),
        "{stderr}"
    );
    let finished = applying.wait_with_output().expect("apply finished");
    let applied = String::from_utf8_lossy(&finished.stdout).into_owned();
    assert!(
        finished.status.success(),
        "{applied}\n{}",
        String::from_utf8_lossy(&finished.stderr)
    );
    assert!(applied.contains("Apply: 0 created, 2 updated"), "{applied}");
    for (url, region, bucket) in &buckets {
        assert_eq!(
            block_on(noncurrent_days(&s3_client(url, region), bucket)),
            Some(45),
            "{region}"
        );
    }
    // Applied once, the saved plan is stale.
    let (code, _, stderr) = run(dir, &["apply", "--yes", "plan.json"], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("stale"), "{stderr}");

    // Drift: versioning suspended behind Terraform's back in one region.
    let (url, region, bucket) = &buckets[1];
    let s3 = s3_client(url, region);
    let versioning = |status: aws_sdk_s3::types::BucketVersioningStatus| {
        block_on(
            s3.put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(
                    aws_sdk_s3::types::VersioningConfiguration::builder()
                        .status(status)
                        .build(),
                )
                .send(),
        )
        .expect("put versioning");
    };
    versioning(aws_sdk_s3::types::BucketVersioningStatus::Suspended);
    let drift = crate::support::schema::document(&expect(dir, &["drift", "--output", "json"], 2));
    let states: Vec<(&str, &str)> = drift["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .map(|r| {
            (
                r["region"].as_str().unwrap_or_default(),
                r["state"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(states, [(HOME, "in-sync"), (OTHER, "drifted")], "{drift}");
    assert!(
        drift
            .to_string()
            .contains("versioning_configuration[0].status"),
        "{drift}"
    );
    versioning(aws_sdk_s3::types::BucketVersioningStatus::Enabled);

    // One region's emulator stopped: the failure names it. Test-only: few retries.
    other.stop();
    let (code, stdout, stderr) = run(dir, &["apply", "--yes"], &[("AWS_MAX_ATTEMPTS", "2")]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("{OTHER}:"))
            && stderr.contains(&format!("{OTHER} (stack {name})")),
        "{stderr}"
    );
    // Back (an empty emulator in its place): the rerun completes, creating the region again.
    let other = emulators.start();
    write_config(dir, &name, [&home.url(), &other.url()], Some(45), &hand);
    let applied = expect(dir, &["apply", "--yes"], 0);
    assert!(applied.contains("0 failed"), "{applied}");
    let other_bucket = outputs(dir, OTHER)["bucket_name"]
        .as_str()
        .expect("bucket_name")
        .to_string();
    let parameter = outputs(dir, HOME)["bucket_name_parameter"]
        .as_str()
        .expect("bucket_name_parameter")
        .to_string();

    // A retained bucket deleted by hand (the other region's artifact bucket, empty) is not
    // listed as retained (issue 13).
    block_on(
        s3_client(&other.url(), OTHER)
            .delete_bucket()
            .bucket(&other_bucket)
            .send(),
    )
    .expect("delete the other region's bucket by hand");

    // Destroy keeps the buckets (artifacts and logs) and deletes the rest.
    let destroyed = expect(dir, &["destroy", "--yes"], 0);
    assert!(destroyed.contains("Retained"), "{destroyed}");
    assert!(
        !destroyed.contains(other_bucket.as_str()),
        "{other_bucket} is gone: {destroyed}"
    );
    let kept = [
        (home.url(), HOME, Some(buckets[0].2.clone())),
        (other.url(), OTHER, None),
    ];
    for (url, region, bucket) in &kept {
        if let Some(bucket) = bucket {
            assert!(destroyed.contains(bucket.as_str()), "{destroyed}");
            block_on(s3_client(url, region).head_bucket().bucket(bucket).send())
                .unwrap_or_else(|e| panic!("{region}: {bucket} kept: {e:?}"));
        }
        let all = block_on(s3_client(url, region).list_buckets().send()).expect("list buckets");
        assert_eq!(
            all.buckets().len(),
            if bucket.is_some() { 2 } else { 1 },
            "{region}: the artifact and log buckets only (the other's artifact bucket deleted by hand)"
        );
        let iam = aws_sdk_iam::Client::new(&sdk_config(url, region));
        let policies = block_on(
            iam.list_policies()
                .scope(aws_sdk_iam::types::PolicyScopeType::Local)
                .send(),
        )
        .expect("list policies");
        assert!(policies.policies().is_empty(), "{region}: {policies:?}");
        let ssm = aws_sdk_ssm::Client::new(&sdk_config(url, region));
        let got = block_on(ssm.get_parameter().name(&parameter).send());
        assert!(got.is_err(), "{region}: the parameter is deleted");
    }
    let status = expect(dir, &["status", "--output", "json"], 0);
    crate::support::schema::document(&status);
    assert_eq!(status.matches("\"deployed\": false").count(), 2, "{status}");
}
