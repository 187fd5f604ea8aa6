//! The configuration file's data model: what `provision.yaml` may contain, with its defaults.
//!
//! Every struct refuses unknown fields, so a typo is an error and never a silently ignored
//! setting. Defaults equal Startifact's, so a Startifact user's parameters need no setting.
//! The JSON Schema (`provision schema`) is generated from these types: the doc comments are
//! the reference documentation of each field.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The one configuration file of `provision`: the artifact storage of an organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Version of this file format. Only `1` exists.
    pub version: u32,
    /// Short name of the organisation (lowercase letters, digits and hyphens; 1 to 32
    /// characters). Used in resource descriptions, tags and default names.
    pub organisation: String,
    /// Regions to provision and stage to, e.g. `[eu-west-1, us-east-1]`. No duplicates.
    pub regions: Vec<String>,
    /// How the storage is deployed: `cloudformation` (one stack per region, change sets; the
    /// default), `terraform` (the rendered root module, driven through the Terraform CLI) or
    /// `stacksets` (one CloudFormation stack set over the accounts of `stacksets.targets`).
    #[serde(default)]
    pub engine: Engine,
    /// Region whose stack holds the account-global IAM resources (group and users).
    /// Must be one of `regions`. Default: the first region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_region: Option<String>,
    /// Name of the CloudFormation stack in every region.
    #[serde(default = "default_stack_name")]
    pub stack_name: String,
    /// Tags applied to every stack and taggable resource.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Names of the Systems Manager parameters (Startifact's defaults).
    #[serde(default)]
    pub parameters: Parameters,
    /// The artifact bucket in each region.
    #[serde(default)]
    pub bucket: Bucket,
    /// A customer-managed KMS key per region for the bucket. Absent: the bucket is encrypted
    /// with the AWS-managed key (`encryption: kms`) or AES-256 (`encryption: s3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms: Option<Kms>,
    /// cStore-style access lists: only these principals (plus the account root and the
    /// deploying identity) may use the bucket and key. Empty: IAM policies alone decide.
    #[serde(default)]
    pub access: Access,
    /// The managed policies rendered for the bucket.
    #[serde(default)]
    pub policies: Policies,
    /// Runbook-style application identities: an IAM group and users (no access keys are
    /// ever created), created in the home region's stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities: Option<Identities>,
    /// Per-region endpoint override (a local emulator, a VPC endpoint): `{eu-west-1: http://127.0.0.1:5000}`.
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// The stack set (`engine: stacksets`): target accounts or organisational units, roles and
    /// operation preferences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacksets: Option<super::stacksets::StackSets>,
    /// Settings of the Terraform engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terraform: Option<TerraformSettings>,
    /// What already exists, so that an update keeps it (written by `provision adopt`): the
    /// logical IDs and policy descriptions of a stack deployed from Startifact's guide, and
    /// buckets that no stack owns, to import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<Adopted>,
}

/// The logical IDs and policy descriptions of an adopted stack: CloudFormation replaces a
/// resource whose logical ID changes (a new bucket, new policy ARNs) and a managed policy whose
/// description changes (create-only), so both stay as the stack has them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Adopted {
    /// Logical IDs of the stack's resources (the guide's: `Staging`, `StagingParameter`,
    /// `AllowRead`, `AllowWrite`, `AllowConfigure`).
    #[serde(default)]
    pub logical_ids: LogicalIds,
    /// The managed policies' descriptions, exactly as deployed (the guide's have no region).
    #[serde(default)]
    pub policy_descriptions: PolicyDescriptions,
    /// Existing buckets that no stack owns (made by hand, or kept by a retained destroy), by
    /// region: rendered with exactly this name and imported instead of created — by an IMPORT
    /// change set (CloudFormation engine) or an `import {}` block (Terraform engine). Overrides
    /// `bucket.name` in these regions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub buckets: BTreeMap<String, String>,
}

/// CloudFormation logical IDs of the resources an adopted stack already has. Absent: the
/// names `provision` renders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct LogicalIds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_name_parameter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configure_policy: Option<String>,
}

/// Descriptions of the managed policies as deployed. Absent: `provision`'s, with the region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PolicyDescriptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configure: Option<String>,
}

/// How the storage is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// One CloudFormation stack per region, created and updated through change sets.
    #[default]
    Cloudformation,
    /// One CloudFormation stack set: the same stack in every target account and region.
    Stacksets,
    /// The rendered Terraform root module, planned and applied with the Terraform CLI.
    Terraform,
}

/// Settings of the Terraform engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TerraformSettings {
    /// Where Terraform keeps its state. Absent: a local `terraform.tfstate` in the working
    /// directory `provision` manages (`.provision/terraform/<stack_name>/` beside this file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
}

/// An S3 state backend with S3-native locking (`use_lockfile`: a lock object beside the
/// state, no DynamoDB table; Terraform 1.10 or newer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    /// The bucket that holds the state (and its lock). Not the artifact bucket: create it
    /// beforehand, versioned and private.
    pub bucket: String,
    /// The state object's key. Default: `<stack_name>/terraform.tfstate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The state bucket's region. Default: the home region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Encrypt the state object (server-side). State holds every attribute Terraform knows,
    /// sensitive ones included.
    #[serde(default = "yes")]
    pub encrypt: bool,
    /// A KMS key (ARN, ID or alias) to encrypt the state with, instead of the bucket's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

impl Backend {
    /// The state object's key, defaulted.
    pub fn key_for(&self, stack_name: &str) -> String {
        self.key
            .clone()
            .unwrap_or_else(|| format!("{stack_name}/terraform.tfstate"))
    }
}

/// Names of the Systems Manager parameters. Same names in every region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Parameters {
    /// The organisation configuration parameter (Startifact: `STARTIFACT_PARAMETER`).
    #[serde(default = "default_configuration_parameter")]
    pub configuration: String,
    /// The parameter holding the bucket's name.
    #[serde(default = "default_bucket_name_parameter")]
    pub bucket_name: String,
    /// Prefix of the per-project `latest` version parameters. Empty (`""`) is Startifact's "no
    /// name prefix": `/<project>/latest`, and the policies cover every parameter, as the
    /// guide's (a warning says so).
    #[serde(default = "default_artifact_prefix")]
    pub artifact_prefix: String,
}

impl Default for Parameters {
    fn default() -> Self {
        Self {
            configuration: default_configuration_parameter(),
            bucket_name: default_bucket_name_parameter(),
            artifact_prefix: default_artifact_prefix(),
        }
    }
}

/// Default encryption of the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Encryption {
    /// SSE-KMS with an S3 bucket key: the configured key, or the AWS-managed `aws/s3` key.
    #[default]
    Kms,
    /// SSE-S3 (AES-256).
    S3,
}

/// The artifact bucket in each region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    /// Bucket name. `null` (the default): CloudFormation chooses a unique name, which
    /// clients read from the bucket-name parameter. A fixed name must contain `{region}`
    /// when there is more than one region (bucket names are global); `{account_id}` is
    /// replaced by the account's ID.
    #[serde(default)]
    pub name: Option<String>,
    /// S3 key prefix of every artifact: empty, or ending in `/`.
    #[serde(default)]
    pub key_prefix: String,
    /// Default encryption.
    #[serde(default)]
    pub encryption: Encryption,
    /// Keep every version of every object.
    #[serde(default = "yes")]
    pub versioning: bool,
    /// Server access logging to a companion log bucket in the same region.
    #[serde(default = "yes")]
    pub access_logging: bool,
    /// Days after which incomplete multipart uploads are aborted (1 to 365).
    #[serde(default = "default_abort_days")]
    pub abort_incomplete_multipart_days: u32,
    /// Days after which noncurrent object versions expire. Absent: kept forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_expiration_days: Option<u32>,
    /// CORS rules (runbook style: downloads from anywhere, uploads from the app's origin).
    #[serde(default)]
    pub cors: Vec<CorsRule>,
    /// Keep the bucket (and its objects) when the stack is deleted or the bucket replaced.
    #[serde(default = "yes")]
    pub retain_on_delete: bool,
}

impl Default for Bucket {
    fn default() -> Self {
        Self {
            name: None,
            key_prefix: String::new(),
            encryption: Encryption::default(),
            versioning: true,
            access_logging: true,
            abort_incomplete_multipart_days: default_abort_days(),
            noncurrent_version_expiration_days: None,
            cors: Vec::new(),
            retain_on_delete: true,
        }
    }
}

/// One CORS rule of the bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CorsRule {
    /// Origins allowed, e.g. `https://app.example.com`, or `*`.
    pub allowed_origins: Vec<String>,
    /// HTTP methods allowed: GET, PUT, POST, DELETE, HEAD.
    pub allowed_methods: Vec<String>,
    /// Request headers allowed.
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    /// Response headers exposed to the browser.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// How long a browser may cache the preflight response, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<u32>,
}

/// A customer-managed KMS key per region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Kms {
    /// Alias of the key, e.g. `alias/acme-artifacts` (not under `alias/aws/`).
    pub alias: String,
    /// Rotate the key material every year.
    #[serde(default = "yes")]
    pub rotation: bool,
    /// Waiting period before a deleted key is destroyed, 7 to 30 days.
    #[serde(default = "default_deletion_window")]
    pub deletion_window_days: u32,
}

/// cStore-style access lists. Names, not ARNs; they are resolved to IAM unique IDs at plan time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// Assumed-role sessions as `ROLE/SESSION`, e.g. `DevOps/me@example.com` (case-sensitive).
    #[serde(default)]
    pub role_users: Vec<String>,
    /// IAM role names, e.g. task or CI runner roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// IAM user names, e.g. external services with access keys.
    #[serde(default)]
    pub users: Vec<String>,
}

impl Access {
    pub fn is_empty(&self) -> bool {
        self.role_users.is_empty() && self.roles.is_empty() && self.users.is_empty()
    }
}

/// The managed policies rendered for the bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    /// Download artifacts (Startifact's read policy).
    #[serde(default)]
    pub read: ReadPolicy,
    /// Stage artifacts (Startifact's write policy).
    #[serde(default)]
    pub write: EmptyPolicy,
    /// Perform the organisation setup (Startifact's configure policy).
    #[serde(default)]
    pub configure: EmptyPolicy,
    /// Create, read, update and delete objects (the runbooks' media management policy).
    #[serde(default)]
    pub manage: ManagePolicy,
}

/// Options of the read policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReadPolicy {
    /// Also allow `s3:PutObject` on `*/metadata`, so readers may append metadata.
    #[serde(default)]
    pub allow_metadata_append: bool,
}

/// A policy without options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EmptyPolicy {}

/// Options of the manage policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ManagePolicy {
    /// Render the manage policy.
    #[serde(default)]
    pub enabled: bool,
}

/// Which managed policy the application identities' group gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IdentityPolicy {
    Read,
    Write,
    Manage,
}

/// Runbook-style application identities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Identities {
    /// IAM group name, e.g. `Apps`.
    pub group: String,
    /// IAM user names added to the group. No access keys are created: create them out of band.
    #[serde(default)]
    pub users: Vec<String>,
    /// The managed policy attached to the group.
    pub policy: IdentityPolicy,
}

fn yes() -> bool {
    true
}
fn default_stack_name() -> String {
    "artifact-storage".into()
}
pub(crate) fn default_configuration_parameter() -> String {
    "/startifact".into()
}
fn default_bucket_name_parameter() -> String {
    "/buckets/staging".into()
}
fn default_artifact_prefix() -> String {
    "/artifacts".into()
}
fn default_abort_days() -> u32 {
    3
}
fn default_deletion_window() -> u32 {
    30
}

impl Config {
    /// The region whose stack holds account-global resources.
    pub fn home_region(&self) -> &str {
        self.home_region
            .as_deref()
            .or(self.regions.first().map(String::as_str))
            .unwrap_or_default()
    }

    /// The Terraform state backend, if one is configured.
    pub fn terraform_backend(&self) -> Option<&Backend> {
        self.terraform.as_ref().and_then(|t| t.backend.as_ref())
    }

    /// The endpoint override for a region, if any.
    pub fn endpoint(&self, region: &str) -> Option<&str> {
        self.endpoints.get(region).map(String::as_str)
    }

    /// The existing bucket adopted in a region (`adopted.buckets`), to import, if any.
    pub fn adopted_bucket(&self, region: &str) -> Option<&str> {
        self.adopted
            .as_ref()
            .and_then(|a| a.buckets.get(region))
            .map(String::as_str)
    }

    /// The bucket name in a region, with `{region}` substituted and `{account_id}` replaced by
    /// `account_id` (a CloudFormation `${AWS::AccountId}` or a Terraform interpolation).
    /// An adopted bucket (`adopted.buckets`) keeps its own name.
    pub fn bucket_name_in(&self, region: &str, account_id: &str) -> Option<String> {
        if let Some(name) = self.adopted_bucket(region) {
            return Some(name.to_string());
        }
        self.bucket.name.as_ref().map(|n| {
            n.replace("{region}", region)
                .replace("{account_id}", account_id)
        })
    }
}
