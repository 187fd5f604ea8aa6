//! The command line: clap definitions only. Behaviour lives in the domain modules.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Exit codes: 0 success or no changes · 1 an operation failed (in any region) · \
2 changes present (plan --detailed-exitcode, setup --check) or drift found · \
3 invalid input (arguments, configuration file, artifact name or version).

Documentation: docs/ in the repository; `provision schema` prints the configuration's JSON Schema.";

/// Render, deploy and use multi-region artifact storage on AWS, in Startifact's layout.
///
/// From one YAML file (`provision.yaml`), `provision` renders the per-region S3 bucket, its
/// bucket-name parameter, the read/write/configure policies and an optional KMS key as
/// CloudFormation or Terraform, deploys them to every region through change sets, writes the
/// organisation configuration, and stages and downloads artifacts with region failover.
#[derive(Debug, Parser)]
#[command(name = "provision", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The configuration file (`-`: read it from standard input).
    #[arg(
        short = 'f',
        long = "file",
        global = true,
        env = "PROVISION_FILE",
        default_value = "provision.yaml",
        value_name = "FILE"
    )]
    pub file: PathBuf,
    /// AWS named profile for credentials and settings (as in ~/.aws/config).
    #[arg(
        long,
        global = true,
        env = "AWS_PROFILE",
        value_name = "NAME",
        help_heading = "AWS"
    )]
    pub profile: Option<String>,
    /// Send every AWS request to this endpoint (a local emulator); per-region `endpoints` in
    /// the configuration take precedence.
    #[arg(
        long,
        global = true,
        env = "AWS_ENDPOINT_URL",
        value_name = "URL",
        help_heading = "AWS"
    )]
    pub endpoint_url: Option<String>,
    /// How results are printed: human-readable text, or JSON with a versioned schema on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text, help_heading = "Output")]
    pub output: OutputFormat,
    /// More detail on stderr (-v: info, -vv: debug, -vvv: trace, including AWS requests).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,
    /// Print only errors and the requested data.
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Output"
    )]
    pub quiet: bool,
    /// Colour: auto (when stdout is a terminal and NO_COLOR is unset), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, help_heading = "Output")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the configuration file offline: schema and every naming rule.
    Validate,
    /// Render CloudFormation, Terraform or the IAM policies into a directory.
    ///
    /// Offline. cloudformation writes DIR/<region>.yaml (one stack per region); terraform
    /// writes a root module (main.tf, kms.tf, variables.tf, terraform.tfvars, outputs.tf);
    /// policies writes DIR/<region>/<kind>.json for every IAM document, with example values
    /// (account 123456789012) in place of what only a deployment knows, for policy linters
    /// and review. Every document is parsed back before it is written.
    Render(RenderArgs),
    /// Show, per region, what `apply` would change (change sets, or a Terraform plan).
    Plan(PlanArgs),
    /// Deploy to every region concurrently (change sets, or a Terraform apply).
    Apply(ApplyArgs),
    /// Delete the stacks (buckets and keys are retained and listed).
    Destroy(DestroyArgs),
    /// Stack status and outputs per region.
    Status(QueryArgs),
    /// Detect drift of every stack; exit 2 when any region drifted.
    Drift(QueryArgs),
    /// Write the organisation configuration parameter to every region.
    Setup(SetupArgs),
    /// Stage an artifact and its metadata to every region.
    Stage(StageArgs),
    /// Download an artifact, failing over between regions.
    Download(DownloadArgs),
    /// Show an artifact's version and metadata.
    Info(InfoArgs),
    /// List the staged versions of a project.
    List(ListArgs),
    /// Add metadata to a staged artifact (keeps existing keys).
    Metadata(MetadataArgs),
    /// Print a presigned download URL.
    Presign(PresignArgs),
    /// Write the configuration of what already exists (Startifact's guide stacks, hand-made
    /// buckets); changes nothing in AWS.
    ///
    /// Reads, in each region, the organisation configuration parameter, the bucket-name
    /// parameter, the bucket, the stack that owns it and the guide's managed policies, and
    /// writes the file named by -f with the stack's logical IDs and policy descriptions, so
    /// that `plan` updates the stacks in place. Regions: --regions, STARTIFACT_REGIONS, or the
    /// configuration parameter's (read in AWS_REGION).
    Adopt(AdoptArgs),
    /// Print the configuration file's JSON Schema.
    Schema,
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    #[command(hide = true)]
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenderFormat {
    /// One CloudFormation stack template per region.
    Cloudformation,
    /// A Terraform root module with one provider alias per region.
    Terraform,
    /// The IAM policy documents on their own (JSON).
    Policies,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// What to render.
    #[arg(long, value_enum, default_value_t = RenderFormat::Cloudformation)]
    pub format: RenderFormat,
    /// Directory to write into (created if missing; existing files of the same name are replaced).
    #[arg(long, value_name = "DIR", default_value = "rendered")]
    pub out: PathBuf,
    /// Directory of templates overriding the embedded ones by relative path:
    /// DIR/cloudformation/*.yaml.hbs, DIR/terraform/*.tf.hbs, DIR/policies/*.json.hbs
    /// (see docs/templates.md). Templates missing from DIR keep the embedded version; a file
    /// matching no template is refused.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// Regions to look in, comma-separated (default: STARTIFACT_REGIONS, else the
    /// configuration parameter's).
    #[arg(long, value_name = "REGIONS")]
    pub regions: Option<String>,
    /// The bucket-name parameter, when no configuration parameter names it.
    #[arg(long, value_name = "NAME", default_value = "/buckets/staging")]
    pub bucket_parameter: String,
    /// An existing bucket that no stack owns, to import (repeatable): `REGION=NAME`, or `NAME`
    /// alone when there is one region.
    #[arg(long = "bucket", value_name = "[REGION=]NAME")]
    pub buckets: Vec<String>,
    /// The organisation's short name in the written configuration.
    #[arg(long, value_name = "NAME", default_value = "startifact")]
    pub organisation: String,
    /// Overwrite an existing configuration file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RegionArgs {
    /// Only these regions (repeatable); default: every region of the configuration.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
}

/// Which engine deploys: chosen by `engine:` in the configuration, overridden here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineChoice {
    /// One CloudFormation stack per region, through change sets.
    Cloudformation,
    /// The rendered root module through the Terraform CLI (one state for every region).
    Terraform,
    /// One CloudFormation stack set over the accounts of `stacksets.targets`.
    Stacksets,
}

#[derive(Debug, Clone, Default, Args)]
pub struct EngineArgs {
    /// The engine, overriding `engine:` in the configuration.
    #[arg(long, value_enum, value_name = "ENGINE", help_heading = "Engine")]
    pub engine: Option<EngineChoice>,
    /// The Terraform (or OpenTofu) binary of the Terraform engine. Default: `terraform`, then
    /// `tofu`, on PATH.
    #[arg(
        long,
        env = "PROVISION_TERRAFORM",
        value_name = "PATH",
        help_heading = "Engine"
    )]
    pub terraform: Option<PathBuf>,
}

/// `status` and `drift`: the regions and the engine.
#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub regions: RegionArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub regions: RegionArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Keep the plan and write it to this file for `apply` (change set ARNs and template
    /// hashes; with Terraform, its plan is copied beside it as FILE.tfplan).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when nothing changes, 2 when something does, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Accept a plan that removes or replaces a bucket, key, bucket-name parameter or managed
    /// policy (refused otherwise, exit 1).
    #[arg(long)]
    pub allow_replace: bool,
    /// Directory of templates overriding the embedded ones.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan written by `plan --out`; refused when stale. Default: plan now.
    #[arg(value_name = "PLAN")]
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub regions: RegionArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Do not ask for confirmation (required when stdin is not a terminal or CI is set).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How many regions deploy at once (CloudFormation; the Terraform engine applies every
    /// region in one run, its parallelism set from the number of regions).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_concurrency: u16,
    /// Keep a failed stack as it is instead of rolling back (for debugging).
    #[arg(long)]
    pub no_rollback: bool,
    /// Delete and recreate a stack whose first creation failed (ROLLBACK_COMPLETE).
    #[arg(long)]
    pub recreate_failed: bool,
    /// Allow a change that removes or replaces a bucket, key, bucket-name parameter or managed
    /// policy (data loss, or a new policy ARN).
    #[arg(long)]
    pub allow_replace: bool,
    /// Leave termination protection off on stacks this run creates (by default it is turned
    /// on, so that a stray `delete-stack` cannot remove the storage; `destroy` turns it off).
    #[arg(long)]
    pub no_termination_protection: bool,
    /// Directory of templates overriding the embedded ones.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub regions: RegionArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Do not ask for confirmation (required when stdin is not a terminal or CI is set).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Only compare: exit 2 when any region differs or lacks the configuration.
    #[arg(long)]
    pub check: bool,
    /// `engine: stacksets`: in every target account of the stack set (its accounts, or the
    /// accounts its OUs resolve to), through `stacksets.setup_role_name` assumed there.
    #[arg(long)]
    pub all_accounts: bool,
}

#[derive(Debug, Args)]
pub struct StagingArgs {
    /// Region to use first: the organisation configuration is read there first, and reads
    /// (download, info, presign) try it first (default: AWS_REGION; then STARTIFACT_REGIONS or
    /// the configuration file's home region and regions).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

#[derive(Debug, Args)]
pub struct StageArgs {
    /// Project name (letters, digits, `_ - .`).
    pub project: String,
    /// Semantic version (2.0 canonical form), e.g. 1.2.3.
    pub version: String,
    /// The artifact file.
    // Its own id: `file` is the global `-f/--file`, and one id would make them overwrite
    // each other.
    #[arg(id = "artifact_file", value_name = "FILE")]
    pub file: PathBuf,
    /// Metadata key=value (repeatable).
    #[arg(long = "metadata", value_name = "KEY=VALUE")]
    pub metadata: Vec<String>,
    /// Record a file name in the metadata (`startifact:filename`) for `download --filename`:
    /// the file's own name, or NAME with `--filename=NAME`.
    #[arg(
        long,
        value_name = "NAME",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ""
    )]
    pub filename: Option<String>,
    /// Check everything and say what would be staged; upload nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Move `latest` to this version even when it is older than the current latest.
    #[arg(long)]
    pub force_latest: bool,
    /// Upload once, then copy server-side to the other regions (falls back to direct upload).
    /// The default for files above 16 MiB staged to several regions.
    #[arg(long, conflicts_with = "no_copy")]
    pub copy: bool,
    /// Upload to every region directly, whatever the file's size.
    #[arg(long)]
    pub no_copy: bool,
    #[command(flatten)]
    pub staging: StagingArgs,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Project name.
    pub project: String,
    /// `[VERSION] PATH`: the version (default `latest`) and where to write.
    #[arg(value_name = "VERSION|PATH", num_args = 1..=2, required = true)]
    pub rest: Vec<String>,
    /// Treat PATH as a directory and write the file under its staged file name.
    #[arg(long)]
    pub filename: bool,
    #[command(flatten)]
    pub staging: StagingArgs,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Project name.
    pub project: String,
    /// Version, or `latest`.
    #[arg(default_value = "latest")]
    pub version: String,
    #[command(flatten)]
    pub staging: StagingArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Project name.
    pub project: String,
    #[command(flatten)]
    pub staging: StagingArgs,
}

#[derive(Debug, Args)]
pub struct MetadataArgs {
    /// Project name.
    pub project: String,
    /// Version, or `latest`.
    pub version: String,
    /// Metadata key=value to add or replace (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", required = true)]
    pub set: Vec<String>,
    #[command(flatten)]
    pub staging: StagingArgs,
}

#[derive(Debug, Args)]
pub struct PresignArgs {
    /// Project name.
    pub project: String,
    /// Version, or `latest`.
    pub version: String,
    /// How long the URL is valid, e.g. 15m, 12h, 7d (at most 7 days).
    #[arg(long, value_name = "DURATION", required = true)]
    pub expires: String,
    #[command(flatten)]
    pub staging: StagingArgs,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}
