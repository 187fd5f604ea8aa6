//! plan, apply, a change, a kept plan and a stale one, destroy, status, drift, --endpoint-url.

use super::*;
use crate::support::snapshot::{assert_output_snapshot, command_output};

#[tokio::test]
async fn apply_creates_every_region_and_a_second_plan_has_no_changes() {
    let url = shared_url();
    let s = Setup::new();
    let regions = ["eu-west-1", "eu-north-1", "us-east-1"];
    let with_urls: Vec<(&str, &str)> = regions.iter().map(|r| (*r, url.as_str())).collect();
    s.write(
        &with_urls,
        "tags:\n  team: platform\n  cost-center: \"4711\"\n",
    );

    let (code, out, _) = s.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "a new stack is a change");
    assert!(
        out.contains("eu-west-1, eu-north-1, us-east-1: create stack"),
        "identical regions are collapsed"
    );
    assert_output_snapshot!("plan_of_three_new_regions", out);
    for r in regions {
        assert_eq!(
            stack_status(&url, r, &s.name).await,
            None,
            "plan must leave no stack behind in {r}"
        );
    }

    let (code, out, _) = s.run(&["apply", "--yes"]);
    assert_eq!(code, 0);
    assert_output_snapshot!("apply_of_three_new_regions", out);
    assert_deployed(&url, &s.name, &s.bucket_parameter(), &regions, "aws:kms").await;

    // Stack tags from the configuration.
    let tags: Vec<(String, String)> = describe_stack(&url, "eu-north-1", &s.name)
        .await
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().into(),
                t.value().unwrap_or_default().into(),
            )
        })
        .collect();
    assert!(
        tags.contains(&("cost-center".into(), "4711".into())),
        "{tags:?}"
    );
    assert!(
        tags.contains(&("team".into(), "platform".into())),
        "{tags:?}"
    );

    // The managed policies exist with Startifact's statements, naming this region's bucket
    // and parameters (IAM is account-global).
    let iam = aws_sdk_iam::Client::new(&sdk_config(&url, "us-east-1"));
    let bucket = physical_id(&url, "eu-west-1", &s.name, "Bucket").await;
    let objects = format!("arn:aws:s3:::{bucket}/*");
    let parameter = |p: &str| {
        format!(
            "arn:aws:ssm:eu-west-1:{ACCOUNT_ID}:parameter/{}/{p}",
            s.name
        )
    };
    let expected: [(&str, &[Expected]); 3] = [
        (
            "ReadPolicy",
            &[
                ("DownloadArtifacts", "s3:GetObject", objects.clone()),
                (
                    "ReadConfigurationAndVersions",
                    "ssm:GetParameter",
                    parameter("bucket"),
                ),
            ],
        ),
        (
            "WritePolicy",
            &[
                (
                    "CheckForArtifacts",
                    "s3:ListBucket",
                    format!("arn:aws:s3:::{bucket}"),
                ),
                ("UploadArtifacts", "s3:PutObject", objects.clone()),
                ("WriteVersions", "ssm:PutParameter", parameter("artifacts*")),
            ],
        ),
        (
            "ConfigurePolicy",
            &[(
                "ReadAndWriteConfiguration",
                "ssm:PutParameter",
                parameter("startifact"),
            )],
        ),
    ];
    for (policy, statements) in expected {
        let arn = physical_id(&url, "eu-west-1", &s.name, policy).await;
        let doc = policy_document(&iam, &arn).await;
        for (sid, action, resource) in statements {
            let st = doc["Statement"]
                .as_array()
                .and_then(|l| l.iter().find(|st| st["Sid"] == *sid))
                .unwrap_or_else(|| panic!("{policy} has statement {sid}: {doc}"));
            assert_eq!(st["Effect"], "Allow");
            assert!(
                as_list(&st["Action"]).contains(&action.to_string()),
                "{policy}/{sid}: {st}"
            );
            assert!(
                as_list(&st["Resource"]).contains(resource),
                "{policy}/{sid} on {resource}: {st}"
            );
        }
    }

    let (code, out, _) = s.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "nothing changed since the apply");
    assert_output_snapshot!("plan_without_changes", out);
    for r in regions {
        assert_eq!(
            change_sets(&url, r, &s.name).await,
            0,
            "plan deletes its change sets in {r}"
        );
    }
}

#[tokio::test]
async fn a_configuration_change_exits_2_and_shows_the_change() {
    let url = shared_url();
    let s = Setup::new();
    s.write(&[("eu-west-1", &url)], "");
    assert_eq!(s.run(&["apply", "--yes"]).0, 0);
    s.write(&[("eu-west-1", &url)], "bucket:\n  versioning: false\n");
    let (code, out, _) = s.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2);
    assert_output_snapshot!("plan_of_a_bucket_change", out);
    assert_eq!(
        change_sets(&url, "eu-west-1", &s.name).await,
        0,
        "the plan's change set is deleted"
    );

    let (code, out, _) = s.run(&["--output", "json", "plan"]);
    assert_eq!(code, 0, "without --detailed-exitcode changes are success");
    crate::support::schema::document(&out);
    assert_output_snapshot!("plan_of_a_bucket_change_as_json", out);
}

#[tokio::test]
async fn a_kept_plan_applies_exactly_and_a_stale_plan_is_refused() {
    let url = shared_url();
    let s = Setup::new();
    s.write(&[("eu-west-1", &url)], "");
    assert_eq!(s.run(&["apply", "--yes"]).0, 0);
    let first = s.bucket_parameter();

    // Rename the bucket-name parameter, plan it into a file.
    let renamed = s.write(&[("eu-west-1", &url)], "");
    replace_in(&renamed, "/bucket\n", "/bucket-v2\n");
    // A new name replaces the bucket-name parameter: the data-loss guard refuses it, naming
    // the cause provision predicted (the emulator's change set says nothing about it).
    let (code, out, err) = s.run(&["plan", "--out", "plan.json"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("(replaces BucketNameParameter: Name changed)"),
        "{out}"
    );
    assert!(
        err.contains("refusing to remove or replace AWS::SSM::Parameter BucketNameParameter (replace: Name changed) in eu-west-1"),
        "{err}"
    );
    assert!(
        !s.path().join("plan.json").exists(),
        "a refused plan is not kept"
    );
    assert_eq!(change_sets(&url, "eu-west-1", &s.name).await, 0);
    let (code, out, _) = s.run(&["plan", "--out", "plan.json", "--allow-replace"]);
    assert_eq!(code, 0);
    assert!(out.contains("Plan written to plan.json"));
    let plan_file = std::fs::read_to_string(s.path().join("plan.json")).unwrap();
    serde_json::from_str::<serde_json::Value>(&plan_file).expect("a JSON plan file");
    // Per region: the kept change set's ARN and the SHA-256 of the template it was made from.
    assert_output_snapshot!("plan_file", plan_file);
    assert_eq!(
        change_sets(&url, "eu-west-1", &s.name).await,
        1,
        "--out keeps the change set"
    );

    let (code, _, _) = s.run(&["apply", "plan.json", "--yes", "--allow-replace"]);
    assert_eq!(code, 0);
    let bucket = physical_id(&url, "eu-west-1", &s.name, "Bucket").await;
    assert_eq!(
        ssm_value(&url, "eu-west-1", &format!("{first}-v2"))
            .await
            .as_deref(),
        Some(bucket.as_str())
    );

    // A plan, then an edit: the plan no longer matches what would be deployed.
    replace_in(&renamed, "/bucket-v2\n", "/bucket-v3\n");
    assert_eq!(
        s.run(&["plan", "--out", "stale.json", "--allow-replace"]).0,
        0
    );
    replace_in(&renamed, "/bucket-v3\n", "/bucket-v4\n");
    let (code, _, err) = s.run(&["apply", "stale.json", "--yes", "--allow-replace"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "stale.json: the plan is stale: the template of eu-west-1 changed since the plan"
        ),
        "{err}"
    );
    assert!(
        err.contains("hint: run `provision plan --out FILE` again"),
        "{err}"
    );
    assert_eq!(
        ssm_value(&url, "eu-west-1", &format!("{first}-v3")).await,
        None,
        "nothing was applied"
    );
    assert_eq!(
        ssm_value(&url, "eu-west-1", &format!("{first}-v4")).await,
        None,
        "nothing was applied"
    );
}

#[tokio::test]
async fn destroy_removes_the_stacks_and_lists_the_retained_buckets() {
    let url = shared_url();
    let s = Setup::new();
    let regions = ["eu-west-1", "ap-southeast-2"];
    let with_urls: Vec<(&str, &str)> = regions.iter().map(|r| (*r, url.as_str())).collect();
    s.write(&with_urls, "");
    assert_eq!(s.run(&["apply", "--yes"]).0, 0);
    let mut buckets = Vec::new();
    for r in regions {
        buckets.push(physical_id(&url, r, &s.name, "Bucket").await);
    }

    let (code, out, err) = s.run(&["destroy"]);
    assert_eq!(code, 3, "no terminal: --yes is required");
    assert_output_snapshot!("destroy_without_yes", command_output(code, &out, &err));
    assert_eq!(
        stack_status(&url, "eu-west-1", &s.name).await.as_deref(),
        Some("CREATE_COMPLETE")
    );

    let (code, out, _) = s.run(&["destroy", "--yes"]);
    assert_eq!(code, 0);
    assert_output_snapshot!("destroy_lists_the_retained_buckets", out);
    for (r, b) in regions.iter().zip(&buckets) {
        assert_eq!(
            stack_status(&url, r, &s.name).await,
            None,
            "{r}: stack deleted"
        );
        assert!(out.contains(b.as_str()), "{b} listed as retained: {out}");
    }
    let (code, out, _) = s.run(&["destroy", "--yes"]);
    assert_eq!(code, 0, "destroying nothing is fine");
    assert_output_snapshot!("destroy_of_nothing", out);
}

/// A retained bucket deleted by hand is not listed as retained (issue 13): the stack still
/// names it, S3 says it is gone.
#[tokio::test]
async fn destroy_does_not_list_a_retained_bucket_that_no_longer_exists() {
    let url = shared_url();
    let s = Setup::new();
    s.write(&[("eu-west-1", &url)], "");
    assert_eq!(s.run(&["apply", "--yes"]).0, 0);
    let bucket = physical_id(&url, "eu-west-1", &s.name, "Bucket").await;
    let log_bucket = physical_id(&url, "eu-west-1", &s.name, "LogBucket").await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk_config(&url, "eu-west-1"))
            .force_path_style(true)
            .build(),
    );
    s3.delete_bucket().bucket(&bucket).send().await.unwrap();

    let (code, out, err) = s.run(&["destroy", "--yes"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(bucket.as_str()), "{bucket} is gone: {out}");
    assert!(
        out.contains(log_bucket.as_str()),
        "{log_bucket} is kept: {out}"
    );
}

/// `--output json` without a terminal: `apply` and `destroy` without `--yes` print one
/// document, `provision.error/v1`, validated against its schema (issue 13).
#[tokio::test]
async fn without_a_terminal_apply_and_destroy_print_one_error_document() {
    let url = shared_url();
    let s = Setup::new();
    s.write(&[("eu-west-1", &url)], "");
    for (command, deployed) in [("apply", None), ("destroy", Some("CREATE_COMPLETE"))] {
        if deployed.is_some() {
            assert_eq!(s.run(&["apply", "--yes"]).0, 0);
        }
        let (code, out, err) = s.run(&["--output", "json", command]);
        assert_eq!(code, 3, "{command}: {err}");
        let doc = crate::support::schema::validated("error.schema.json", &out);
        assert_eq!(
            (doc["command"].as_str(), doc["exit"].as_i64()),
            (Some(command), Some(3))
        );
        assert!(
            doc["hint"].as_str().is_some_and(|h| h.contains("--yes")),
            "{doc}"
        );
        assert_eq!(
            stack_status(&url, "eu-west-1", &s.name).await.as_deref(),
            deployed
        );
    }
    assert_eq!(s.run(&["destroy", "--yes"]).0, 0);
}

#[tokio::test]
async fn without_a_terminal_apply_requires_yes_and_changes_nothing() {
    let url = shared_url();
    let s = Setup::new();
    s.write(&[("eu-west-1", &url)], "");
    let (code, out, err) = s.run(&["apply"]);
    assert_eq!(code, 3);
    // The plan first, then the refusal naming the flag.
    assert_output_snapshot!("apply_without_a_terminal", command_output(code, &out, &err));
    assert_eq!(
        stack_status(&url, "eu-west-1", &s.name).await,
        None,
        "no stack, not even an empty one"
    );
}

#[tokio::test]
async fn status_shows_each_region_in_text_and_json() {
    let url = shared_url();
    let s = Setup::new();
    s.write(&[("eu-west-1", &url), ("eu-central-1", &url)], "");
    assert_eq!(s.run(&["apply", "--yes", "--region", "eu-west-1"]).0, 0);
    let (code, out, _) = s.run(&["status"]);
    assert_eq!(code, 0);
    assert_output_snapshot!("status_of_one_deployed_region_and_one_not", out);
    let (code, out, _) = s.run(&["--output", "json", "status"]);
    assert_eq!(code, 0);
    crate::support::schema::document(&out);
    assert_output_snapshot!("status_of_one_deployed_region_and_one_not_as_json", out);
}

#[tokio::test]
async fn drift_on_the_emulator_is_reported_unsupported() {
    let url = shared_url();
    let s = Setup::new();
    s.write(&[("eu-west-1", &url)], "");
    assert_eq!(s.run(&["apply", "--yes"]).0, 0);
    let (code, _, err) = s.run(&["drift"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "eu-west-1 (stack {}): drift detection unsupported by this endpoint",
            s.name
        )),
        "{err}"
    );
}

#[tokio::test]
async fn endpoint_url_reaches_every_region_without_per_region_endpoints() {
    let url = shared_url();
    let s = Setup::new();
    let path = s.write(&[], "");
    replace_in(&path, "regions: []", "regions: [us-west-2]");
    replace_in(&path, "endpoints:\n", "");
    let (code, _, _) = s.run(&["--endpoint-url", &url, "apply", "--yes"]);
    assert_eq!(code, 0);
    assert_eq!(
        stack_status(&url, "us-west-2", &s.name).await.as_deref(),
        Some("CREATE_COMPLETE")
    );
}
