//! Where the staging commands work: regions, organisation configuration and buckets.
//!
//! CI machines usually have credentials and nothing else, so no configuration file is
//! needed. The organisation configuration is read from the first region that answers
//! (`--region`, `AWS_REGION`, then `STARTIFACT_REGIONS` or the configuration file's home
//! region and regions); the regions to work in are `STARTIFACT_REGIONS` when set, otherwise
//! the configuration's. A configuration file, when present (`-f`, or `provision.yaml` in
//! the working directory), contributes its endpoints and its configuration parameter name.

use super::{RegionError, StageError};
use crate::aws::ssm::get_parameter;
use crate::aws::{AwsError, Clients};
use crate::cli::StagingArgs;
use crate::config::Config;
use crate::context::Context;
use crate::startifact::document::{self, OrgConfig};
use crate::startifact::layout::Layout;
use std::path::Path;

/// Everything a staging command needs to reach the artifacts.
pub struct StagingTarget {
    pub clients: Clients,
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
pub fn optional_config(ctx: &Context) -> Result<Option<Config>, StageError> {
    let path = &ctx.global.file;
    if path == Path::new("provision.yaml") && !path.exists() {
        return Ok(None);
    }
    Ok(Some(ctx.config()?))
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

/// Where to look, before anything is read: the regions to try for the organisation
/// configuration, and the regions `STARTIFACT_REGIONS` names.
struct Start {
    preferred: Option<String>,
    env_regions: Option<Vec<String>>,
    candidates: Vec<String>,
}

fn start(ctx: &Context, staging: &StagingArgs, cfg: Option<&Config>) -> Result<Start, StageError> {
    let env = &ctx.env;
    let preferred = match &staging.region {
        Some(r) => Some((r.clone(), "--region")),
        None => env
            .aws_region
            .clone()
            .map(|r| (r, "AWS_REGION"))
            .or_else(|| {
                env.aws_default_region
                    .clone()
                    .map(|r| (r, "AWS_DEFAULT_REGION"))
            }),
    };
    if let Some((r, source)) = &preferred {
        check_region_name(ctx, r, source)?;
    }
    let preferred = preferred.map(|(r, _)| r);
    let env_regions = env
        .startifact_regions
        .as_deref()
        .map(document::split_regions);
    for r in env_regions.iter().flatten() {
        check_region_name(ctx, r, document::REGIONS_ENV)?;
    }
    let mut candidates: Vec<String> = preferred.iter().cloned().collect();
    match (&env_regions, cfg) {
        (Some(list), _) => candidates.extend(list.iter().cloned()),
        (None, Some(c)) => {
            candidates.push(c.home_region().to_string());
            candidates.extend(c.regions.iter().cloned());
        }
        (None, None) => {}
    }
    dedup(&mut candidates);
    if candidates.is_empty() {
        return Err(StageError::NoBootstrapRegion);
    }
    Ok(Start {
        preferred,
        env_regions,
        candidates,
    })
}

/// Resolves the target: reads the organisation configuration from the first region that
/// answers and settles the regions to work in.
pub async fn resolve(ctx: &Context, staging: &StagingArgs) -> Result<StagingTarget, StageError> {
    let cfg = optional_config(ctx)?;
    let parameter = document::parameter_name(cfg.as_ref(), ctx.env.startifact_parameter.as_deref())
        .map_err(StageError::Input)?;
    let start = start(ctx, staging, cfg.as_ref())?;
    let endpoints = cfg
        .as_ref()
        .map(|c| c.endpoints.clone())
        .unwrap_or_default();
    let clients = ctx.clients.open(&start.candidates[0], &endpoints).await;
    let mut target = StagingTarget {
        clients,
        org: OrgConfig::default(),
        layout: Layout::from(&OrgConfig::default()),
        regions: Vec::new(),
        regions_source: String::new(),
        config_region: String::new(),
        parameter,
        preferred: start.preferred,
    };
    target.read_first_org_config(&start.candidates).await?;
    let (mut regions, source) = match start.env_regions {
        Some(list) => (list, document::REGIONS_ENV.to_string()),
        None => (
            target.org.regions.clone(),
            format!("{} in {}", target.parameter, target.config_region),
        ),
    };
    if regions.is_empty() {
        return Err(StageError::Input(format!(
            "no regions to work in: {} in {} lists none and {} is not set",
            target.parameter,
            target.config_region,
            document::REGIONS_ENV
        )));
    }
    for r in &regions {
        check_region_name(ctx, r, &source)?;
    }
    dedup(&mut regions);
    target.regions = regions;
    target.regions_source = source;
    Ok(target)
}

fn dedup(list: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    list.retain(|r| seen.insert(r.clone()));
}

impl StagingTarget {
    /// An SSM client that gives up quickly, so that reads fail over to another region.
    pub fn ssm(&self, region: &str) -> aws_sdk_ssm::Client {
        self.clients.ssm_reads(region)
    }

    /// An S3 client for reads (HEAD, GET, list), quick to give up like [`StagingTarget::ssm`].
    pub fn s3_read(&self, region: &str) -> aws_sdk_s3::Client {
        self.clients.s3_reads(region)
    }

    /// An S3 client for uploads: the shared settings (adaptive retries, no attempt timeout,
    /// since a part upload takes as long as it takes).
    pub fn s3_write(&self, region: &str) -> aws_sdk_s3::Client {
        self.clients.s3(region)
    }

    /// An SSM client for writes (the `latest` parameter): the shared, patient settings.
    pub fn ssm_write(&self, region: &str) -> aws_sdk_ssm::Client {
        self.clients.ssm(region)
    }

    /// Reads the organisation configuration from the first of `candidates` that has it.
    async fn read_first_org_config(&mut self, candidates: &[String]) -> Result<(), StageError> {
        let mut failures = Vec::new();
        for region in candidates {
            match self.read_org_config(region).await {
                Ok(org) => {
                    tracing::info!(
                        "organisation configuration {} read from {region}",
                        self.parameter
                    );
                    self.layout = Layout::from(&org);
                    self.org = org;
                    self.config_region = region.clone();
                    return Ok(());
                }
                Err(reason) => failures.push((region.clone(), reason)),
            }
        }
        Err(StageError::NoConfiguration {
            parameter: self.parameter.clone(),
            failures,
        })
    }

    async fn read_org_config(&self, region: &str) -> Result<OrgConfig, RegionError> {
        let text = get_parameter(&self.ssm(region), &self.parameter)
            .await
            .map_err(RegionError::Request)?
            .ok_or_else(|| {
                RegionError::Missing(format!("parameter {} does not exist", self.parameter))
            })?;
        let org = OrgConfig::parse(&text)
            .map_err(|e| RegionError::Content(format!("{} {e}", self.parameter)))?;
        if org.bucket_name_param.is_empty() {
            return Err(RegionError::Content(format!(
                "{} has no bucket_name_param",
                self.parameter
            )));
        }
        Ok(org)
    }

    /// The bucket's name in `region`, from the bucket-name parameter.
    pub async fn bucket(&self, region: &str) -> Result<String, RegionError> {
        let name = &self.org.bucket_name_param;
        match get_parameter(&self.ssm(region), name)
            .await
            .map_err(RegionError::Request)?
        {
            Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
            Some(_) => Err(RegionError::Content(format!(
                "bucket-name parameter {name} is empty"
            ))),
            None => Err(RegionError::Missing(format!(
                "bucket-name parameter {name} does not exist"
            ))),
        }
    }

    /// The project's `latest` version in `region`, if set.
    pub async fn latest(&self, region: &str, project: &str) -> Result<Option<String>, AwsError> {
        get_parameter(&self.ssm(region), &self.layout.latest_parameter(project)).await
    }

    /// The regions in the order reads try them: the preferred region first (when it is one
    /// of them), then the others shuffled, spreading load and surviving an outage.
    pub fn read_order(&self) -> Vec<String> {
        failover_order(&self.regions, self.preferred.as_deref(), fastrand::shuffle)
    }
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
