//! Which version a command works on: the one given, or `latest` (the pointer parameter
//! `<parameter_name_prefix>/<project>/latest`), read from the first region that answers.

use super::resolve::StagingTarget;
use super::{RegionError, StageError};
use crate::startifact::layout;
use semver::Version;

/// The `latest` version in one region.
pub async fn resolve_latest(
    target: &StagingTarget,
    region: &str,
    project: &str,
) -> Result<Version, RegionError> {
    let name = target.layout.latest_parameter(project);
    let v = target
        .latest(region, project)
        .await
        .map_err(RegionError::doing(format!("reading {name}")))?
        .ok_or_else(|| {
            RegionError::Missing(format!("{name} does not exist (nothing staged yet?)"))
        })?;
    Version::parse(v.trim())
        .map_err(|_| RegionError::Content(format!("{name} holds `{v}`, which is not a version")))
}

/// The version to work on: the one given, or `latest` from the first region that answers.
pub async fn resolve_version(
    target: &StagingTarget,
    project: &str,
    wanted: Option<Version>,
) -> Result<Version, StageError> {
    if let Some(v) = wanted {
        return Ok(v);
    }
    let mut failures = Vec::new();
    for region in target.read_order() {
        match resolve_latest(target, &region, project).await {
            Ok(v) => return Ok(v),
            Err(e) => failures.push((region, e)),
        }
    }
    Err(StageError::Unavailable {
        what: format!("cannot read the latest version of {project} in any region"),
        failures,
    })
}

/// `latest` or a canonical version.
pub fn parse_wanted(version: &str) -> Result<Option<Version>, StageError> {
    match version {
        "latest" => Ok(None),
        v => layout::parse_version(v)
            .map(Some)
            .map_err(StageError::Input),
    }
}

/// Where the artifact is in one region, and what it was staged with.
pub struct Located {
    pub region: String,
    pub bucket: String,
    pub key: String,
    pub version: Version,
}

/// The bucket and the version (`latest` resolved in this region, then kept for the others).
/// The bucket name and `latest` are independent reads: they are sent at once (one round trip
/// for both, and the second connection is warm for the object's metadata). One
/// `GetParameters` would do it in one request, but it is its own IAM action, which the read
/// policies (and Startifact's) do not grant.
pub async fn locate(
    target: &StagingTarget,
    region: &str,
    project: &str,
    version: &mut Option<Version>,
) -> Result<Located, RegionError> {
    let (bucket, version) = match version {
        Some(v) => (target.bucket(region).await?, v.clone()),
        None => {
            let (bucket, latest) = futures_util::future::join(
                target.bucket(region),
                resolve_latest(target, region, project),
            )
            .await;
            (bucket?, version.insert(latest?).clone())
        }
    };
    Ok(Located {
        region: region.to_string(),
        bucket,
        key: target.layout.artifact_key(project, &version),
        version,
    })
}
