//! End to end: the real binary deploys to moto, and the results are checked through the AWS
//! APIs (SDK clients in the test), never through `provision` itself.
//!
//! moto's CloudFormation is shallow (see docs/testing.md): these tests assert only what it
//! does. Per-resource events, Replacement, rollbacks, drift results and throttling are covered
//! by the SDK-mock tests in src/deploy/tests/.

mod access;
mod examples;
mod lifecycle;
mod outage;

use crate::support::{
    self, ACCOUNT_ID, Emulators, output, percent_decode, provision, sdk_config, unique,
};
use std::path::{Path, PathBuf};

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
            "version: 1\norganisation: {n}\nregions: [{}]\nstack_name: {n}\n",
            list.join(", ")
        );
        text.push_str(&self.parameters_and_endpoints(regions));
        text.push_str(extra);
        let path = self.path().join("provision.yaml");
        std::fs::write(&path, text).expect("write provision.yaml");
        path
    }

    /// The `parameters` (named after the test) and `endpoints` sections of provision.yaml.
    fn parameters_and_endpoints(&self, regions: &[(&str, &str)]) -> String {
        let n = &self.name;
        let mut text = format!(
            "parameters:\n  configuration: /{n}/startifact\n  bucket_name: {}\n  artifact_prefix: /{n}/artifacts\nendpoints:\n",
            self.bucket_parameter()
        );
        for (r, url) in regions {
            text.push_str(&format!("  {r}: {url}\n"));
        }
        text
    }

    /// The SSM parameter that holds each region's bucket name.
    fn bucket_parameter(&self) -> String {
        format!("/{}/bucket", self.name)
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

fn cloudformation(url: &str, region: &str) -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(&sdk_config(url, region))
}

/// The stack as DescribeStacks returns it (it must exist).
async fn describe_stack(
    url: &str,
    region: &str,
    stack: &str,
) -> aws_sdk_cloudformation::types::Stack {
    let out = cloudformation(url, region)
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .expect("DescribeStacks");
    out.stacks()[0].clone()
}

/// How many events the stack has.
async fn event_count(url: &str, region: &str, stack: &str) -> usize {
    cloudformation(url, region)
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .expect("DescribeStackEvents")
        .stack_events()
        .len()
}

/// A trust policy that lets ECS tasks assume a role (for roles the tests create).
const ECS_TASKS_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The bucket's default encryption.
async fn default_encryption(
    url: &str,
    region: &str,
    bucket: &str,
) -> aws_sdk_s3::types::ServerSideEncryptionByDefault {
    let s3 = support::s3_client(url, region);
    let enc = s3
        .get_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketEncryption");
    let rule = &enc
        .server_side_encryption_configuration()
        .expect("encryption")
        .rules()[0];
    rule.apply_server_side_encryption_by_default()
        .expect("default encryption")
        .clone()
}

/// Replaces `from` with `to` in a file (an edit of provision.yaml).
fn replace_in(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read the file");
    std::fs::write(path, text.replace(from, to)).expect("write the file");
}

/// The stack's status, or `None` when it does not exist.
async fn stack_status(url: &str, region: &str, stack: &str) -> Option<String> {
    let cf = cloudformation(url, region);
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
    let cf = cloudformation(url, region);
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
    let ssm = aws_sdk_ssm::Client::new(&sdk_config(url, region));
    ssm.get_parameter()
        .name(name)
        .send()
        .await
        .ok()
        .and_then(|o| o.parameter().and_then(|p| p.value()).map(str::to_string))
}

async fn change_sets(url: &str, region: &str, stack: &str) -> usize {
    let cf = cloudformation(url, region);
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
        let status = describe_stack(url, region, stack)
            .await
            .stack_status()
            .map(|s| s.as_str().to_string());
        assert_eq!(status.as_deref(), Some("CREATE_COMPLETE"), "{region}");
        let bucket = physical_id(url, region, stack, "Bucket").await;
        let s3 = support::s3_client(url, region);
        s3.head_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("the bucket exists");
        let default = default_encryption(url, region, &bucket).await;
        assert_eq!(default.sse_algorithm().as_str(), sse, "{region}");
        assert_eq!(
            ssm_value(url, region, parameter).await.as_deref(),
            Some(bucket.as_str()),
            "{region}: the SSM parameter holds the bucket's name"
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
