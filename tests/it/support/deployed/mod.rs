//! What the configuration asks for, read back from AWS through the SDK, region by region:
//! every bucket setting and policy, the key, the parameters, the managed policies and the
//! identities. Engine-neutral: everything is found from the configuration and AWS itself (the
//! bucket through its bucket-name parameter, the log bucket through the bucket's logging, the
//! key through its alias), so the Terraform tests, the engine's tests and adoption tests call
//! the same [`check_deployed_storage`].

mod bucket;
pub mod policies;

use bucket::{
    check_bucket_basics, check_cors, check_encryption, check_key, check_lifecycle, check_logging,
};
use policies::{allowed_user_ids, check_identities, check_policies};
use provision::config::Config;

/// The SDK clients of one region (IAM and STS are global; any region's client reaches them).
pub struct Clients {
    pub region: String,
    pub s3: aws_sdk_s3::Client,
    pub kms: aws_sdk_kms::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
}

impl Clients {
    /// Clients of `region` against the emulator at `endpoint`, with the test credentials (S3
    /// through [`super::moto_s3`]: moto names a few S3 answers' roots wrongly).
    pub async fn emulator(endpoint: &str, region: &str) -> Clients {
        let conf = super::sdk_config(endpoint, region);
        Clients {
            region: region.to_string(),
            s3: super::moto_s3::client(endpoint, region).await,
            kms: aws_sdk_kms::Client::new(&conf),
            ssm: aws_sdk_ssm::Client::new(&conf),
            iam: aws_sdk_iam::Client::new(&conf),
            sts: aws_sdk_sts::Client::new(&conf),
        }
    }
}

/// The names a region's deployment turned out to have, found through AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub bucket: String,
    pub log_bucket: Option<String>,
    pub key_arn: Option<String>,
    pub account_id: String,
    /// The `aws:userId` patterns the access lists resolve to (account root, deploying
    /// identity, listed principals); empty without access lists.
    pub allowed_user_ids: Vec<String>,
}

/// Checks everything the configuration asks for in `region` and fails the test with every
/// difference found (not only the first).
pub async fn assert_deployed_storage(cfg: &Config, clients: &Clients) -> Found {
    let mut problems = Vec::new();
    let found = check_deployed_storage(cfg, clients, &mut problems).await;
    assert!(
        problems.is_empty(),
        "{}: the deployment differs from the configuration:\n  {}",
        clients.region,
        problems.join("\n  ")
    );
    found.expect("names found when nothing is wrong")
}

/// Checks everything the configuration asks for in one region, pushing one line per
/// difference onto `problems`. Returns the names found (None when the bucket is missing).
pub async fn check_deployed_storage(
    cfg: &Config,
    clients: &Clients,
    problems: &mut Vec<String>,
) -> Option<Found> {
    let region = clients.region.as_str();
    let mut problem = |p: String| problems.push(p);
    let Some(bucket) = parameter_value(clients, &cfg.parameters.bucket_name).await else {
        problem(format!(
            "bucket-name parameter {}: missing",
            cfg.parameters.bucket_name
        ));
        return None;
    };
    if let Some(fixed) = cfg.bucket_name_in(region, &account_id(clients).await) {
        expect(&mut problem, "bucket name", &fixed, &bucket);
    }
    let param = clients
        .ssm
        .get_parameter()
        .name(&cfg.parameters.bucket_name)
        .send()
        .await
        .ok()
        .and_then(|o| o.parameter().cloned());
    expect(
        &mut problem,
        "bucket-name parameter type",
        "String",
        param
            .as_ref()
            .and_then(|p| p.r#type())
            .map(|t| t.as_str())
            .unwrap_or("missing"),
    );

    let key_arn = check_key(cfg, clients, &mut problem).await;
    check_encryption(cfg, clients, &bucket, key_arn.as_deref(), &mut problem).await;
    check_bucket_basics(cfg, clients, &bucket, &mut problem).await;
    check_lifecycle(cfg, clients, &bucket, &mut problem).await;
    check_cors(cfg, clients, &bucket, &mut problem).await;
    let log_bucket = check_logging(cfg, clients, &bucket, &mut problem).await;

    let found = Found {
        account_id: account_id(clients).await,
        allowed_user_ids: allowed_user_ids(cfg, clients).await,
        bucket,
        log_bucket,
        key_arn,
    };
    check_policies(cfg, clients, &found, &mut problem).await;
    if region == cfg.home_region() {
        check_identities(cfg, clients, &found, &mut problem).await;
    }
    Some(found)
}

pub(super) fn expect(problem: &mut impl FnMut(String), what: &str, expected: &str, actual: &str) {
    if expected != actual {
        problem(format!("{what}: expected {expected:?}, found {actual:?}"));
    }
}

async fn parameter_value(clients: &Clients, name: &str) -> Option<String> {
    clients
        .ssm
        .get_parameter()
        .name(name)
        .send()
        .await
        .ok()
        .and_then(|o| o.parameter().and_then(|p| p.value()).map(str::to_string))
}

pub(super) async fn account_id(clients: &Clients) -> String {
    clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity")
        .account()
        .unwrap_or_default()
        .to_string()
}
