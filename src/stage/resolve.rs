//! Where the staging commands work: regions, organisation configuration and buckets.
//!
//! CI machines usually have credentials and nothing else, so no configuration file is
//! needed. The organisation configuration is read from the first region that answers
//! (`--region`, `AWS_REGION`, then `STARTIFACT_REGIONS` or the configuration file's home
//! region and regions); the regions to work in are `STARTIFACT_REGIONS` when set, otherwise
//! the configuration's. A configuration file, when present (`-f`, or `provision.yaml` in
//! the working directory), contributes its endpoints and its configuration parameter name.

use super::StageError;
use super::layout::Layout;
use crate::Context;
use crate::aws::{self, Aws};
use crate::cli::StagingArgs;
use crate::config::Config;
use crate::error::Error;
use crate::org::document::{self, OrgConfig};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use std::path::Path;
use std::time::Duration;

/// Attempts per read request: a region that fails twice is skipped for the next one.
const READ_ATTEMPTS: u32 = 2;
/// Longest wait for a read's response headers before trying again or failing over.
const READ_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything a staging command needs to reach the artifacts.
pub struct Target {
    pub aws: Aws,
    /// The organisation configuration as read.
    pub org: OrgConfig,
    pub layout: Layout,
    /// The regions to work in, in configuration order.
    pub regions: Vec<String>,
    /// Where the regions came from (`STARTIFACT_REGIONS` or the configuration).
    pub regions_source: String,
    /// The region the configuration was read from.
    pub config_region: String,
    /// The configuration parameter's name.
    pub parameter: String,
    /// `--region`, else `AWS_REGION`: tried first when reading.
    pub preferred: Option<String>,
}

/// The configuration file, when one is present. The default name is optional; a file named
/// explicitly (`-f`, `PROVISION_FILE`) must exist.
pub fn optional_config(ctx: &Context) -> Result<Option<Config>, Error> {
    let path = &ctx.global.file;
    if path == Path::new("provision.yaml") && !path.exists() {
        return Ok(None);
    }
    ctx.config().map(Some)
}

/// A region name from the command line, the environment or the organisation configuration,
/// checked as every region name is ([`crate::region::check`]): a malformed one is refused
/// (exit 3, naming where it came from); one this build does not know is used, with a warning.
pub fn check_region_name(ctx: &Context, region: &str, source: &str) -> Result<(), StageError> {
    if let Some(warning) = region_name_warning(region, source)? {
        ctx.ui.warn(warning);
    }
    Ok(())
}

/// The refusal of a malformed region name, or the warning an unknown one deserves.
fn region_name_warning(region: &str, source: &str) -> Result<Option<String>, StageError> {
    match crate::region::check(region) {
        Ok(checked) => Ok(checked.warning(region).map(|w| format!("{source}: {w}"))),
        Err(reason) => Err(StageError::Input(format!("{source}: {reason}"))),
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Resolves the target: reads the organisation configuration from the first region that
/// answers and settles the regions to work in.
pub async fn resolve(ctx: &Context, staging: &StagingArgs) -> Result<Target, Error> {
    let cfg = optional_config(ctx)?;
    let parameter = document::parameter_name(cfg.as_ref()).map_err(StageError::Input)?;

    let preferred = match &staging.region {
        Some(r) => Some((r.clone(), "--region")),
        None => env_nonempty("AWS_REGION")
            .map(|r| (r, "AWS_REGION"))
            .or_else(|| env_nonempty("AWS_DEFAULT_REGION").map(|r| (r, "AWS_DEFAULT_REGION"))),
    };
    if let Some((r, source)) = &preferred {
        check_region_name(ctx, r, source)?;
    }
    let preferred = preferred.map(|(r, _)| r);
    let env_regions = env_nonempty(document::REGIONS_ENV).map(|v| document::split_regions(&v));
    if let Some(list) = &env_regions {
        for r in list {
            check_region_name(ctx, r, document::REGIONS_ENV)?;
        }
    }

    let mut candidates: Vec<String> = preferred.iter().cloned().collect();
    match (&env_regions, &cfg) {
        (Some(list), _) => candidates.extend(list.iter().cloned()),
        (None, Some(c)) => {
            candidates.push(c.home_region().to_string());
            candidates.extend(c.regions.iter().cloned());
        }
        (None, None) => {}
    }
    dedup(&mut candidates);
    if candidates.is_empty() {
        return Err(StageError::NoBootstrapRegion.into());
    }

    let settings = ctx.aws_settings(cfg.as_ref());
    let aws = settings.load(&candidates[0]).await;
    let mut target = Target {
        aws,
        org: OrgConfig {
            bucket_key_prefix: String::new(),
            bucket_name_param: String::new(),
            parameter_name_prefix: String::new(),
            regions: Vec::new(),
        },
        layout: Layout {
            bucket_key_prefix: String::new(),
            parameter_name_prefix: String::new(),
        },
        regions: Vec::new(),
        regions_source: String::new(),
        config_region: String::new(),
        parameter: parameter.clone(),
        preferred,
    };

    let mut failures = Vec::new();
    for region in &candidates {
        match target.read_org_config(region).await {
            Ok(org) => {
                tracing::info!("organisation configuration {parameter} read from {region}");
                target.layout = Layout::from(&org);
                target.org = org;
                target.config_region = region.clone();
                break;
            }
            Err(reason) => failures.push((region.clone(), reason)),
        }
    }
    if target.config_region.is_empty() {
        return Err(StageError::NoConfiguration {
            parameter,
            failures,
        }
        .into());
    }

    let (regions, source) = match env_regions {
        Some(list) => (list, document::REGIONS_ENV.to_string()),
        None => (
            target.org.regions.clone(),
            format!("{parameter} in {}", target.config_region),
        ),
    };
    if regions.is_empty() {
        return Err(StageError::Input(format!(
            "no regions to work in: {parameter} in {} lists none and {} is not set",
            target.config_region,
            document::REGIONS_ENV
        ))
        .into());
    }
    for r in &regions {
        check_region_name(ctx, r, &source)?;
    }
    let mut regions = regions;
    dedup(&mut regions);
    target.regions = regions;
    target.regions_source = source;
    Ok(target)
}

fn dedup(list: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|r| seen.insert(r.clone()));
}

impl Target {
    /// An SSM client that gives up quickly, so that reads fail over to another region.
    pub fn ssm(&self, region: &str) -> aws_sdk_ssm::Client {
        quick_ssm(&self.aws, region)
    }

    /// An S3 client for reads (HEAD, GET, list): quick to give up, like [`Target::ssm`].
    /// The body of a GET is not covered by the attempt timeout; the download guards it.
    /// The SDK's own response-checksum validation is off: downloads verify the SHA-256
    /// from the metadata themselves, and S3's checksums only for full-object checksums
    /// (emulators report a multipart object's composite checksum without its `-N` mark,
    /// which the SDK would take for a full-object one and fail on).
    pub fn s3_read(&self, region: &str) -> aws_sdk_s3::Client {
        let conf = self
            .aws
            .s3(region)
            .config()
            .to_builder()
            .retry_config(RetryConfig::standard().with_max_attempts(READ_ATTEMPTS))
            .timeout_config(self.read_timeouts())
            .response_checksum_validation(
                aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
            )
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// An S3 client for uploads: the shared settings (adaptive retries, no attempt timeout,
    /// since a part upload takes as long as it takes).
    pub fn s3_write(&self, region: &str) -> aws_sdk_s3::Client {
        self.aws.s3(region)
    }

    /// An SSM client for writes (the `latest` parameter): the shared, patient settings.
    pub fn ssm_write(&self, region: &str) -> aws_sdk_ssm::Client {
        self.aws.ssm(region)
    }

    fn read_timeouts(&self) -> TimeoutConfig {
        read_timeouts(&self.aws)
    }

    async fn read_org_config(&self, region: &str) -> Result<OrgConfig, String> {
        let text = get_parameter(&self.ssm(region), &self.parameter)
            .await?
            .ok_or_else(|| format!("parameter {} does not exist", self.parameter))?;
        let org = OrgConfig::parse(&text).map_err(|e| format!("{} {e}", self.parameter))?;
        if org.bucket_name_param.is_empty() {
            return Err(format!("{} has no bucket_name_param", self.parameter));
        }
        Ok(org)
    }

    /// The bucket's name in `region`, from the bucket-name parameter.
    pub async fn bucket(&self, region: &str) -> Result<String, String> {
        let name = &self.org.bucket_name_param;
        match get_parameter(&self.ssm(region), name).await? {
            Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
            Some(_) => Err(format!("bucket-name parameter {name} is empty")),
            None => Err(format!("bucket-name parameter {name} does not exist")),
        }
    }

    /// The project's `latest` version in `region`, if set.
    pub async fn latest(&self, region: &str, project: &str) -> Result<Option<String>, String> {
        get_parameter(&self.ssm(region), &self.layout.latest_parameter(project)).await
    }

    /// The regions in the order reads try them: the preferred region first (when it is one
    /// of them), then the others shuffled, spreading load and surviving an outage.
    pub fn read_order(&self) -> Vec<String> {
        failover_order(&self.regions, self.preferred.as_deref(), fastrand::shuffle)
    }
}

fn read_timeouts(aws: &Aws) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(aws.settings.connect_timeout)
        .operation_attempt_timeout(READ_ATTEMPT_TIMEOUT)
        .build()
}

/// An SSM client for reads that gives up quickly (two attempts, short timeouts), so that an
/// unreachable region costs seconds, not a minute of retries.
pub fn quick_ssm(aws: &Aws, region: &str) -> aws_sdk_ssm::Client {
    let conf = aws
        .ssm(region)
        .config()
        .to_builder()
        .retry_config(RetryConfig::standard().with_max_attempts(READ_ATTEMPTS))
        .timeout_config(read_timeouts(aws))
        .build();
    aws_sdk_ssm::Client::from_conf(conf)
}

/// `preferred` first when it is in `regions`, then the others in the order `shuffle` leaves
/// them.
pub fn failover_order(
    regions: &[String],
    preferred: Option<&str>,
    shuffle: impl FnOnce(&mut [String]),
) -> Vec<String> {
    let mut rest: Vec<String> = regions
        .iter()
        .filter(|r| Some(r.as_str()) != preferred)
        .cloned()
        .collect();
    shuffle(&mut rest);
    let mut order: Vec<String> = preferred
        .filter(|p| regions.iter().any(|r| r == p))
        .map(|p| vec![p.to_string()])
        .unwrap_or_default();
    order.extend(rest);
    order
}

/// A String parameter's value; `None` when it does not exist.
pub async fn get_parameter(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
) -> Result<Option<String>, String> {
    match ssm.get_parameter().name(name).send().await {
        Ok(out) => Ok(out.parameter.and_then(|p| p.value)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws::describe(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn preferred_region_comes_first_then_the_shuffled_rest() {
        let all = regions(&["eu-west-1", "us-east-1", "eu-north-1"]);
        let order = failover_order(&all, Some("us-east-1"), |r| r.reverse());
        assert_eq!(order, regions(&["us-east-1", "eu-north-1", "eu-west-1"]));
    }

    #[test]
    fn a_preferred_region_outside_the_list_is_ignored() {
        let all = regions(&["eu-west-1", "us-east-1"]);
        let order = failover_order(&all, Some("ap-south-1"), |_| {});
        assert_eq!(order, all);
    }

    #[test]
    fn the_real_shuffle_keeps_every_region_once() {
        let all = regions(&["a-1", "b-1", "c-1", "d-1", "e-1"]);
        for _ in 0..50 {
            let mut order = failover_order(&all, Some("c-1"), fastrand::shuffle);
            assert_eq!(order[0], "c-1");
            order.sort();
            assert_eq!(order, all);
        }
    }

    #[test]
    fn region_names_are_checked() {
        assert!(matches!(region_name_warning("eu-west-1", "x"), Ok(None)));
        assert!(matches!(
            region_name_warning("eusc-de-east-1", "x"),
            Ok(None)
        ));
        let Ok(Some(warning)) = region_name_warning("eu-wset-1", "--region") else {
            panic!("a typo is accepted with a warning");
        };
        assert!(
            warning.starts_with("--region: `eu-wset-1`")
                && warning.contains("did you mean eu-west-1?"),
            "{warning}"
        );
        for bad in [
            "",
            "EU-WEST-1",
            "eu west",
            "eu_west_1",
            "https://x",
            "eu-west",
        ] {
            let Err(StageError::Input(message)) = region_name_warning(bad, "STARTIFACT_REGIONS")
            else {
                panic!("{bad} is refused");
            };
            assert!(
                message.starts_with("STARTIFACT_REGIONS: ")
                    && message.contains("is not a region name"),
                "{message}"
            );
        }
    }
}
