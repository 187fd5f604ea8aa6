//! End to end: the real binary deploys to moto, and the results are checked through the AWS
//! APIs (SDK clients in the test), never through `provision` itself.
//!
//! moto's CloudFormation is shallow (see docs/testing.md): these tests assert only what it
//! does. Per-resource events, Replacement, rollbacks, drift results and throttling are covered
//! by the SDK-mock tests in src/deploy/tests/.

mod support;

use std::path::{Path, PathBuf};
use support::{ACCOUNT_ID, Moto, output, provision, sdk_config, unique};

/// One test's configuration: unique names so that tests sharing an emulator never collide
/// (stack, SSM parameters, KMS alias, IAM policies are per organisation).
struct Setup {
    dir: tempfile::TempDir,
    name: String,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
            name: unique("dp"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes provision.yaml: `regions` each with its endpoint, plus `extra` YAML.
    fn write(&self, regions: &[(&str, &str)], extra: &str) -> PathBuf {
        let n = &self.name;
        let list: Vec<&str> = regions.iter().map(|(r, _)| *r).collect();
        let mut text = format!(
            "version: 1\norganisation: {n}\nregions: [{}]\nstack_name: {n}\nparameters:\n  configuration: /{n}/startifact\n  bucket_name: /{n}/bucket\n  artifact_prefix: /{n}/artifacts\nendpoints:\n",
            list.join(", ")
        );
        for (r, url) in regions {
            text.push_str(&format!("  {r}: {url}\n"));
        }
        text.push_str(extra);
        let path = self.path().join("provision.yaml");
        std::fs::write(&path, text).expect("write provision.yaml");
        path
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let (code, out, err) = output(provision(self.path()).args(args));
        eprintln!(
            "$ provision {}\n--- exit {code}\n--- stdout\n{out}--- stderr\n{err}",
            args.join(" ")
        );
        (code, out, err)
    }
}

fn shared_url() -> String {
    support::shared().url()
}

async fn cloudformation(url: &str, region: &str) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(&sdk_config(url, region).await)
}

/// The stack's status, or `None` when it does not exist.
async fn stack_status(url: &str, region: &str, stack: &str) -> Option<String> {
    let cf = cloudformation(url, region).await;
    match cf.describe_stacks().stack_name(stack).send().await {
        Ok(out) => out
            .stacks()
            .first()
            .and_then(|s| s.stack_status())
            .map(|s| s.as_str().to_string()),
        Err(e) => {
            let text = format!("{e:?}");
            assert!(text.contains("does not exist"), "unexpected error: {text}");
            None
        }
    }
}

/// Physical ID of a stack resource.
async fn physical_id(url: &str, region: &str, stack: &str, logical: &str) -> String {
    let cf = cloudformation(url, region).await;
    let out = cf
        .list_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .expect("ListStackResources");
    out.stack_resource_summaries()
        .iter()
        .find(|r| r.logical_resource_id() == Some(logical))
        .and_then(|r| r.physical_resource_id())
        .unwrap_or_else(|| panic!("{logical} not in stack {stack} in {region}"))
        .to_string()
}

async fn ssm_value(url: &str, region: &str, name: &str) -> Option<String> {
    let ssm = aws_sdk_ssm::Client::new(&sdk_config(url, region).await);
    ssm.get_parameter()
        .name(name)
        .send()
        .await
        .ok()
        .and_then(|o| o.parameter().and_then(|p| p.value()).map(str::to_string))
}

async fn change_sets(url: &str, region: &str, stack: &str) -> usize {
    let cf = cloudformation(url, region).await;
    cf.list_change_sets()
        .stack_name(stack)
        .send()
        .await
        .map(|o| {
            // moto lists every stack's change sets: filter on the stack.
            o.summaries()
                .iter()
                .filter(|s| s.stack_name() == Some(stack))
                .filter(|s| s.execution_status().map(|e| e.as_str()) == Some("AVAILABLE"))
                .count()
        })
        .unwrap_or(0)
}

/// Each region's stack is complete, its bucket exists with its encryption, and the
/// bucket-name parameter holds the bucket's name.
async fn assert_deployed(url: &str, stack: &str, parameter: &str, regions: &[&str], sse: &str) {
    for region in regions {
        let cf = cloudformation(url, region).await;
        let described = cf
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .expect("DescribeStacks");
        let status = described.stacks()[0]
            .stack_status()
            .map(|s| s.as_str().to_string());
        assert_eq!(status.as_deref(), Some("CREATE_COMPLETE"), "{region}");
        let bucket = physical_id(url, region, stack, "Bucket").await;
        let s3 = support::s3_client(url, region).await;
        s3.head_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("the bucket exists");
        let enc = s3
            .get_bucket_encryption()
            .bucket(&bucket)
            .send()
            .await
            .expect("GetBucketEncryption");
        let rule = &enc
            .server_side_encryption_configuration()
            .expect("encryption")
            .rules()[0];
        let default = rule
            .apply_server_side_encryption_by_default()
            .expect("default encryption");
        assert_eq!(default.sse_algorithm().as_str(), sse, "{region}");
        assert_eq!(
            ssm_value(url, region, parameter).await.as_deref(),
            Some(bucket.as_str()),
            "{region}: the SSM parameter holds the bucket's name"
        );
    }
}

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
    assert!(out.contains("+  AWS::S3::Bucket"));
    assert!(out.contains("Security changes:"));
    for r in regions {
        assert_eq!(
            stack_status(&url, r, &s.name).await,
            None,
            "plan must leave no stack behind in {r}"
        );
    }

    let (code, out, _) = s.run(&["apply", "--yes"]);
    assert_eq!(code, 0);
    assert!(out.contains("Apply: 3 created, 0 updated, 0 recreated, 0 unchanged, 0 failed."));
    assert_deployed(
        &url,
        &s.name,
        &format!("/{}/bucket", s.name),
        &regions,
        "aws:kms",
    )
    .await;

    // Stack tags from the configuration.
    let cf = cloudformation(&url, "eu-north-1").await;
    let stack = cf
        .describe_stacks()
        .stack_name(&s.name)
        .send()
        .await
        .unwrap();
    let tags: Vec<(String, String)> = stack.stacks()[0]
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
    let iam = aws_sdk_iam::Client::new(&sdk_config(&url, "us-east-1").await);
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
    assert!(out.contains("eu-west-1, eu-north-1, us-east-1: no changes"));
    for r in regions {
        assert_eq!(
            change_sets(&url, r, &s.name).await,
            0,
            "plan deletes its change sets in {r}"
        );
    }
}

/// A statement a managed policy must have: Sid, one of its actions, one of its resources.
type Expected = (&'static str, &'static str, String);

/// The default version of a managed policy, as IAM returns it.
async fn policy_document(iam: &aws_sdk_iam::Client, arn: &str) -> serde_json::Value {
    let policy = iam
        .get_policy()
        .policy_arn(arn)
        .send()
        .await
        .expect("GetPolicy");
    let version = policy
        .policy()
        .and_then(|p| p.default_version_id())
        .unwrap_or("v1")
        .to_string();
    let out = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .expect("GetPolicyVersion");
    let text = out
        .policy_version()
        .and_then(|v| v.document())
        .unwrap_or_default()
        .to_string();
    serde_json::from_str(&percent_decode(&text))
        .unwrap_or_else(|e| panic!("policy document of {arn}: {e}: {text}"))
}

/// A policy element that is a string or a list of strings, as a list.
fn as_list(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

/// IAM returns policy documents URL-encoded.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%' && i + 3 <= b.len())
            .then(|| {
                std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .flatten();
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

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
    let n = &s.name;
    out.push_str(&format!("parameters:\n  configuration: /{n}/startifact\n  bucket_name: /{n}/bucket\n  artifact_prefix: /{n}/artifacts\nendpoints:\n"));
    for r in &regions {
        out.push_str(&format!("  {r}: {url}\n"));
    }
    std::fs::write(s.path().join("provision.yaml"), out).expect("write provision.yaml");
    (
        doc["stack_name"].as_str().expect("stack_name").to_string(),
        regions,
    )
}

/// The region's key exists, the alias points at it, and the bucket is encrypted with it.
async fn assert_key(url: &str, stack: &str, alias: &str, region: &str) {
    let key_id = physical_id(url, region, stack, "Key").await;
    let kms = aws_sdk_kms::Client::new(&sdk_config(url, region).await);
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
    let s3 = support::s3_client(url, region).await;
    let enc = s3
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetBucketEncryption");
    let rule = &enc
        .server_side_encryption_configuration()
        .expect("encryption")
        .rules()[0];
    let id = rule
        .apply_server_side_encryption_by_default()
        .and_then(|d| d.kms_master_key_id());
    assert_eq!(
        id,
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
    assert_deployed(
        &url,
        &stack,
        &format!("/{}/bucket", s.name),
        &regions,
        "aws:kms",
    )
    .await;
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
    let iam = aws_sdk_iam::Client::new(&sdk_config(&url, "us-east-1").await);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    // The example's principals (IAM is account-global: another run may have made them).
    for role in ["ecs-task-config-reader", "DevOps"] {
        let _ = iam
            .create_role()
            .role_name(role)
            .assume_role_policy_document(trust)
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
    assert_deployed(
        &url,
        &stack,
        &format!("/{}/bucket", s.name),
        &regions,
        "aws:kms",
    )
    .await;
    for r in &regions {
        assert_key(&url, &stack, &format!("alias/{}-config-store", s.name), r).await;
    }
    let (code, _, _) = s.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "a second plan shows no changes");
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
    assert!(out.contains("eu-west-1: update stack"), "{out}");
    assert!(
        out.contains("~  AWS::S3::Bucket              Bucket"),
        "{out}"
    );
    assert!(out.contains("1 to update"));
    assert_eq!(
        change_sets(&url, "eu-west-1", &s.name).await,
        0,
        "the plan's change set is deleted"
    );

    let (code, out, _) = s.run(&["--output", "json", "plan"]);
    assert_eq!(code, 0, "without --detailed-exitcode changes are success");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(doc["schema"], "provision.plan/v1");
    assert_eq!(doc["regions"][0]["action"], "update");
    assert_eq!(doc["regions"][0]["changes"][0]["logical_id"], "Bucket");
    assert_eq!(doc["summary"]["update"], 1);
}

#[tokio::test]
async fn a_kept_plan_applies_exactly_and_a_stale_plan_is_refused() {
    let url = shared_url();
    let s = Setup::new();
    s.write(&[("eu-west-1", &url)], "");
    assert_eq!(s.run(&["apply", "--yes"]).0, 0);
    let first = format!("/{}/bucket", s.name);

    // Rename the bucket-name parameter, plan it into a file.
    let renamed = s
        .write(&[("eu-west-1", &url)], "")
        .to_string_lossy()
        .to_string();
    std::fs::write(
        &renamed,
        std::fs::read_to_string(&renamed)
            .unwrap()
            .replace("/bucket\n", "/bucket-v2\n"),
    )
    .unwrap();
    let (code, out, _) = s.run(&["plan", "--out", "plan.json"]);
    assert_eq!(code, 0);
    assert!(out.contains("Plan written to plan.json"));
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.path().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(plan["schema"], "provision.planfile/v1");
    let arn = plan["regions"][0]["change_set_arn"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        arn.starts_with("arn:aws:cloudformation:eu-west-1:"),
        "{arn}"
    );
    assert_eq!(
        plan["regions"][0]["template_sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    assert_eq!(
        change_sets(&url, "eu-west-1", &s.name).await,
        1,
        "--out keeps the change set"
    );

    let (code, _, _) = s.run(&["apply", "plan.json", "--yes"]);
    assert_eq!(code, 0);
    let bucket = physical_id(&url, "eu-west-1", &s.name, "Bucket").await;
    assert_eq!(
        ssm_value(&url, "eu-west-1", &format!("{first}-v2"))
            .await
            .as_deref(),
        Some(bucket.as_str())
    );

    // A plan, then an edit: the plan no longer matches what would be deployed.
    std::fs::write(
        &renamed,
        std::fs::read_to_string(&renamed)
            .unwrap()
            .replace("/bucket-v2\n", "/bucket-v3\n"),
    )
    .unwrap();
    assert_eq!(s.run(&["plan", "--out", "stale.json"]).0, 0);
    std::fs::write(
        &renamed,
        std::fs::read_to_string(&renamed)
            .unwrap()
            .replace("/bucket-v3\n", "/bucket-v4\n"),
    )
    .unwrap();
    let (code, _, err) = s.run(&["apply", "stale.json", "--yes"]);
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

    let (code, _, err) = s.run(&["destroy"]);
    assert_eq!(code, 3, "no terminal: --yes is required");
    assert!(err.contains("pass --yes"), "{err}");
    assert_eq!(
        stack_status(&url, "eu-west-1", &s.name).await.as_deref(),
        Some("CREATE_COMPLETE")
    );

    let (code, out, _) = s.run(&["destroy", "--yes"]);
    assert_eq!(code, 0);
    assert!(out.contains("Retained"), "{out}");
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
    assert!(out.contains("not deployed"));
}

#[tokio::test]
async fn without_a_terminal_apply_requires_yes_and_changes_nothing() {
    let url = shared_url();
    let s = Setup::new();
    s.write(&[("eu-west-1", &url)], "");
    let (code, out, err) = s.run(&["apply"]);
    assert_eq!(code, 3);
    assert!(
        out.contains("create stack"),
        "the plan is shown first: {out}"
    );
    assert!(
        err.contains("needs confirmation") && err.contains("pass --yes"),
        "{err}"
    );
    assert_eq!(
        stack_status(&url, "eu-west-1", &s.name).await,
        None,
        "no stack, not even an empty one"
    );
}

#[tokio::test]
async fn principals_are_resolved_through_iam_and_passed_to_the_stack() {
    let url = shared_url();
    let s = Setup::new();
    let iam = aws_sdk_iam::Client::new(&sdk_config(&url, "us-east-1").await);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = format!("{}-reader", s.name);
    let user = format!("{}-bot", s.name);
    let role_id = iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .role_id()
        .to_string();
    let user_id = iam
        .create_user()
        .user_name(&user)
        .send()
        .await
        .unwrap()
        .user()
        .unwrap()
        .user_id()
        .to_string();
    let caller = aws_sdk_sts::Client::new(&sdk_config(&url, "eu-west-1").await)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    let deployer = caller.user_id().unwrap().to_string();
    s.write(
        &[("eu-west-1", &url)],
        &format!("access:\n  roles: [{role}]\n  users: [{user}]\n  role_users: [\"{role}/me@example.com\"]\n"),
    );

    let (code, out, _) = s.run(&["plan"]);
    assert_eq!(code, 0);
    for (id, what) in [
        (ACCOUNT_ID.to_string(), "account root".to_string()),
        (deployer.clone(), "deploying identity".to_string()),
        (
            format!("{role_id}:*"),
            format!("role {role} (access.roles)"),
        ),
        (user_id.clone(), format!("user {user} (access.users)")),
        (
            format!("{role_id}:me@example.com"),
            format!("of role {role} (access.role_users)"),
        ),
    ] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&id))
            .unwrap_or_else(|| panic!("{id} not shown: {out}"));
        assert!(line.contains(&what), "{line}");
    }

    assert_eq!(s.run(&["apply", "--yes"]).0, 0);
    let cf = cloudformation(&url, "eu-west-1").await;
    let stack = cf
        .describe_stacks()
        .stack_name(&s.name)
        .send()
        .await
        .unwrap();
    let value = stack.stacks()[0]
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some("AllowedUserIds"))
        .and_then(|p| p.parameter_value())
        .expect("the AllowedUserIds parameter")
        .to_string();
    for id in [
        ACCOUNT_ID,
        &deployer,
        &format!("{role_id}:*"),
        &user_id,
        &format!("{role_id}:me@example.com"),
    ] {
        assert!(value.contains(id), "{id} in {value}");
    }
}

#[tokio::test]
async fn a_missing_principal_fails_before_any_change() {
    let url = shared_url();
    let s = Setup::new();
    s.write(
        &[("eu-west-1", &url)],
        "access:\n  roles: [no-such-role-anywhere]\n",
    );
    for args in [&["plan"][..], &["apply", "--yes"][..]] {
        let (code, _, err) = s.run(args);
        assert_eq!(code, 1);
        assert!(
            err.contains(
                "access.roles: role `no-such-role-anywhere` does not exist in account 123456789012"
            ),
            "{err}"
        );
    }
    assert_eq!(stack_status(&url, "eu-west-1", &s.name).await, None);
}

#[tokio::test]
async fn status_shows_each_region_in_text_and_json() {
    let url = shared_url();
    let s = Setup::new();
    s.write(&[("eu-west-1", &url), ("eu-central-1", &url)], "");
    assert_eq!(s.run(&["apply", "--yes", "--region", "eu-west-1"]).0, 0);
    let (code, out, _) = s.run(&["status"]);
    assert_eq!(code, 0);
    let west = out
        .lines()
        .find(|l| l.trim_start().starts_with("eu-west-1"))
        .unwrap();
    assert!(west.contains("CREATE_COMPLETE"), "{west}");
    let central = out
        .lines()
        .find(|l| l.trim_start().starts_with("eu-central-1"))
        .unwrap();
    assert!(central.contains("not deployed"), "{central}");
    let (code, out, _) = s.run(&["--output", "json", "status"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["schema"], "provision.status/v1");
    assert_eq!(doc["regions"][0]["status"], "CREATE_COMPLETE");
    assert_eq!(doc["regions"][0]["deployed"], true);
    assert_eq!(doc["regions"][1]["deployed"], false);
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
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("regions: []", "regions: [us-west-2]")
        .replace("endpoints:\n", "");
    std::fs::write(&path, text).unwrap();
    let (code, _, _) = s.run(&["--endpoint-url", &url, "apply", "--yes"]);
    assert_eq!(code, 0);
    assert_eq!(
        stack_status(&url, "us-west-2", &s.name).await.as_deref(),
        Some("CREATE_COMPLETE")
    );
}

#[tokio::test]
async fn an_unreachable_region_fails_alone_and_a_rerun_completes_it() {
    let a = Moto::start();
    let mut b = Moto::start();
    let s = Setup::new();
    b.stop();
    s.write(&[("eu-west-1", &a.url()), ("eu-north-1", &b.url())], "");
    let (code, out, err) = s.run(&["apply", "--yes"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "error: eu-north-1 (stack {}): cloudformation:DescribeStacks: cannot connect",
            s.name
        )),
        "{err}"
    );
    assert!(
        out.contains("Apply: 1 created, 0 updated, 0 recreated, 0 unchanged, 1 failed."),
        "{out}"
    );
    assert_eq!(
        stack_status(&a.url(), "eu-west-1", &s.name)
            .await
            .as_deref(),
        Some("CREATE_COMPLETE")
    );
    let events_before = cloudformation(&a.url(), "eu-west-1")
        .await
        .describe_stack_events()
        .stack_name(&s.name)
        .send()
        .await
        .unwrap()
        .stack_events()
        .len();

    // The region is back (a fresh emulator: a restarted moto has lost its state).
    let c = Moto::start();
    s.write(&[("eu-west-1", &a.url()), ("eu-north-1", &c.url())], "");
    let (code, out, _) = s.run(&["apply", "--yes"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Apply: 1 created, 0 updated, 0 recreated, 1 unchanged, 0 failed."),
        "{out}"
    );
    assert_eq!(
        stack_status(&c.url(), "eu-north-1", &s.name)
            .await
            .as_deref(),
        Some("CREATE_COMPLETE")
    );
    let events_after = cloudformation(&a.url(), "eu-west-1")
        .await
        .describe_stack_events()
        .stack_name(&s.name)
        .send()
        .await
        .unwrap()
        .stack_events()
        .len();
    assert_eq!(
        events_before, events_after,
        "the completed region is left unchanged"
    );
}
