//! StackSets and Organizations end to end on the emulator, at the level of the driver
//! (`provision::stacksets`, `provision::org_accounts`): an organisation with two OUs (one of
//! them with a nested OU) and three member accounts; stack sets deployed to two of them in
//! three regions; the buckets, keys, parameters, policies and users checked in each member
//! account through the AWS APIs, by assuming a role there (moto attributes the assumed
//! credentials to that account).
//!
//! moto's StackSets run every operation at once, ignore operation preferences, do not apply
//! UpdateStackSet to the instances' resources, ignore RetainStacks, and delete no instance
//! through OU targets (docs/testing.md, "StackSets on the emulator"): these tests assert what
//! it does; the rest is covered by the mock tests in src/stacksets/tests/.

mod engine;
mod organizations;
mod self_managed;
mod service_managed;

use crate::support::{ACCOUNT_ID, dedicated, sdk_config, sdk_config_as, unique};
use aws_credential_types::Credentials;
use provision::stacksets::{Polling, StackSetSpec};
use std::collections::BTreeMap;
use std::sync::OnceLock;

pub const REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "eu-north-1"];
/// The region the stack sets are administered from (and the Organizations endpoint's).
pub const ADMIN_REGION: &str = "eu-west-1";

/// The organisation every test of this group shares (created once, only read afterwards).
#[derive(Debug, Clone)]
pub struct Org {
    pub root: String,
    pub dev: String,
    pub prod: String,
    pub prod_eu: String,
    pub dev_account: String,
    pub prod_account: String,
    pub prod_eu_account: String,
}

pub fn org() -> &'static Org {
    static ORG: OnceLock<Org> = OnceLock::new();
    ORG.get_or_init(|| {
        // Its own thread and runtime: the clients it creates live and die with it.
        std::thread::spawn(|| {
            tokio::runtime::Runtime::new()
                .expect("runtime")
                .block_on(create_organization())
        })
        .join()
        .expect("organisation created")
    })
}

async fn create_organization() -> Org {
    let org = organizations().await;
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("CreateOrganization");
    let root = org.list_roots().send().await.expect("ListRoots").roots()[0]
        .id()
        .expect("root id")
        .to_string();
    let ou = |parent: String, name: &'static str| {
        let org = org.clone();
        async move {
            org.create_organizational_unit()
                .parent_id(parent)
                .name(name)
                .send()
                .await
                .expect("CreateOrganizationalUnit")
                .organizational_unit()
                .and_then(|o| o.id())
                .expect("OU id")
                .to_string()
        }
    };
    let dev = ou(root.clone(), "dev").await;
    let prod = ou(root.clone(), "prod").await;
    let prod_eu = ou(prod.clone(), "prod-eu").await;
    let account = |name: &'static str, parent: String| {
        let org = org.clone();
        let root = root.clone();
        async move {
            let id = org
                .create_account()
                .account_name(name)
                .email(format!("{name}@example.com"))
                .send()
                .await
                .expect("CreateAccount")
                .create_account_status()
                .and_then(|s| s.account_id())
                .expect("account id (moto creates accounts at once)")
                .to_string();
            org.move_account()
                .account_id(&id)
                .source_parent_id(root)
                .destination_parent_id(parent)
                .send()
                .await
                .expect("MoveAccount");
            id
        }
    };
    Org {
        dev_account: account("dev", dev.clone()).await,
        prod_account: account("prod", prod.clone()).await,
        prod_eu_account: account("prod-eu", prod_eu.clone()).await,
        root,
        dev,
        prod,
        prod_eu,
    }
}

/// The emulator of this group: the organisation is account-wide state, so it is not the
/// emulator the other groups share.
pub fn emulator() -> String {
    dedicated("stacksets_e2e").url()
}

/// SDK configuration of the management (and administrator) account.
pub async fn admin(region: &str) -> aws_config::SdkConfig {
    sdk_config(&emulator(), region)
}

pub async fn organizations() -> aws_sdk_organizations::Client {
    aws_sdk_organizations::Client::new(&admin(ADMIN_REGION).await)
}

pub async fn cloudformation() -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(&admin(ADMIN_REGION).await)
}

/// SDK configuration in a member account: AssumeRole into its `role` (moto attributes the
/// temporary credentials to the account the role ARN names).
pub async fn member(account: &str, role_arn: &str, region: &str) -> aws_config::SdkConfig {
    let sts = aws_sdk_sts::Client::new(&admin(region).await);
    let creds = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("provision-tests")
        .send()
        .await
        .expect("AssumeRole")
        .credentials()
        .cloned()
        .expect("credentials");
    let conf = sdk_config_as(
        &emulator(),
        region,
        Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_string()),
            None,
            "assumed",
        ),
    );
    let who = aws_sdk_sts::Client::new(&conf)
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(
        who.account(),
        Some(account),
        "credentials of the member account"
    );
    conf
}

pub fn s3(conf: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    )
}

/// A stack-set configuration with names of its own (`name`): stack set, bucket, SSM
/// parameters, KMS alias and IAM user never collide with another test's in the shared
/// accounts.
pub fn config(name: &str, stacksets: &str, extra: &str) -> provision::config::Config {
    let text = config_text(name, stacksets, extra);
    provision::config::parse(std::path::Path::new("provision.yaml"), &text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The text of [`config`].
pub fn config_text(name: &str, stacksets: &str, extra: &str) -> String {
    format!(
        "version: 1\norganisation: {name}\nengine: stacksets\nregions: [{}]\nhome_region: eu-west-1\nstack_name: {name}\n\
         parameters: {{configuration: /{name}/startifact, bucket_name: /{name}/bucket, artifact_prefix: /{name}/artifacts}}\n\
         bucket: {{name: \"{name}-{{account_id}}-{{region}}\"}}\n\
         identities: {{group: {name}-readers, users: [{name}-bot], policy: read}}\n\
         stacksets:\n{stacksets}{extra}",
        REGIONS.join(", ")
    )
}

pub fn spec(cfg: &provision::config::Config) -> StackSetSpec {
    let template = provision::render::stack_set(cfg, &provision::render::Templates::default())
        .expect("stack-set template");
    StackSetSpec::from_config(cfg, &template, BTreeMap::new(), ACCOUNT_ID).expect("stacksets")
}

pub fn polling() -> Polling {
    Polling::emulator()
}

pub fn name(prefix: &str) -> String {
    unique(prefix)
}

/// Bucket names in `account`, in any region (S3 lists every bucket of the account).
pub async fn buckets(conf: &aws_config::SdkConfig) -> Vec<String> {
    s3(conf)
        .list_buckets()
        .send()
        .await
        .expect("ListBuckets")
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(String::from))
        .collect()
}
