//! `provision info` and `provision list`: read-only views of staged artifacts.

use super::meta;
use super::resolve::{self, StagingTarget};
use super::versions::{Located, locate, parse_wanted};
use super::{RegionError, StageError};
use crate::aws::SdkResultExt;
use crate::cli::{InfoArgs, ListArgs};
use crate::context::Context;
use crate::exit::Exit;
use crate::runner;
use crate::startifact::layout::{self, Metadata, value_text};
use crate::text::escape;
use crate::ui::Tone;
use aws_smithy_types::date_time::Format;
use schemars::JsonSchema;
use semver::Version;
use serde::Serialize;
use std::collections::BTreeMap;

pub use super::metadata_cmd::cmd_metadata;
pub use super::presign::cmd_presign;

#[derive(Debug, Serialize, JsonSchema)]
pub struct Info {
    project: String,
    version: String,
    region: String,
    bucket: String,
    key: String,
    size: Option<i64>,
    /// When the object was written (RFC 3339).
    staged_at: Option<String>,
    metadata: Metadata,
}

impl crate::document::Document for Info {
    const KIND: &'static str = "info";
}

pub async fn cmd_info(ctx: &Context, args: &InfoArgs) -> Result<Exit, StageError> {
    layout::check_project(&args.project).map_err(StageError::Input)?;
    let mut version = parse_wanted(&args.version)?;
    let target = resolve::resolve(ctx, &args.staging).await?;
    let mut failures = Vec::new();
    for region in target.read_order() {
        match info_in(&target, &region, &args.project, &mut version).await {
            Ok(info) => {
                ctx.ui.emit(&info, || render_info(&info))?;
                return Ok(Exit::Success);
            }
            Err(why) => {
                tracing::info!("{region}: {why}");
                failures.push((region, why));
            }
        }
    }
    Err(StageError::Unavailable {
        what: format!(
            "cannot read {} {} in any region",
            args.project,
            version.map_or("latest".into(), |v| v.to_string())
        ),
        failures,
    })
}

async fn info_in(
    target: &StagingTarget,
    region: &str,
    project: &str,
    version: &mut Option<Version>,
) -> Result<Info, RegionError> {
    let Located {
        bucket,
        key,
        version: v,
        ..
    } = locate(target, region, project, version).await?;
    let s3 = target.s3_read(region);
    let (head, fetched) = tokio::join!(
        s3.head_object().bucket(&bucket).key(&key).send(),
        meta::get(&s3, &bucket, &key)
    );
    // The metadata's GET says NoSuchBucket when the bucket is gone (a HEAD has no body to say
    // it): its error first.
    let fetched = fetched?;
    let head = head.classify("s3:HeadObject", &s3).map_err(|e| {
        if e.is_not_found() {
            RegionError::not_found(e, &bucket, &key)
        } else {
            RegionError::doing(format!("reading s3://{bucket}/{key}"))(e)
        }
    })?;
    let metadata = fetched.map(|f| f.doc).unwrap_or_default();
    Ok(Info {
        project: project.to_string(),
        version: v.to_string(),
        region: region.to_string(),
        bucket,
        key,
        size: head.content_length(),
        staged_at: head
            .last_modified()
            .and_then(|t| t.fmt(Format::DateTime).ok()),
        metadata,
    })
}

/// The text of `info`. Everything that came from AWS is escaped (see [`crate::text`]).
fn render_info(i: &Info) -> String {
    let mut out = format!("{} {}\n", i.project, i.version);
    out.push_str(&format!(
        "  object    s3://{}/{} ({})\n",
        escape(&i.bucket),
        escape(&i.key),
        i.region
    ));
    if let Some(size) = i.size {
        out.push_str(&format!(
            "  size      {} ({size} bytes)\n",
            super::stage_report::human_size(size.max(0) as u64)
        ));
    }
    if let Some(t) = &i.staged_at {
        out.push_str(&format!("  staged    {}\n", escape(t)));
    }
    if i.metadata.is_empty() {
        out.push_str("  metadata  none\n");
    } else {
        out.push_str("  metadata\n");
        let keys: Vec<_> = i.metadata.keys().map(|k| escape(k)).collect();
        let width = keys.iter().map(|k| k.chars().count()).max().unwrap_or(0);
        for (k, v) in keys.iter().zip(i.metadata.values()) {
            out.push_str(&format!("    {k:<width$} = {}\n", value_text(v)));
        }
    }
    out
}

#[derive(Debug, Serialize, JsonSchema)]
struct Listed {
    version: String,
    /// Regions holding it (of those that answered).
    regions: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Listing {
    project: String,
    /// The highest `latest` among the regions that answered.
    latest: Option<String>,
    versions: Vec<Listed>,
    answered: Vec<String>,
    failed: Vec<FailedRegion>,
}

impl crate::document::Document for Listing {
    const KIND: &'static str = "list";
}

#[derive(Debug, Serialize, JsonSchema)]
struct FailedRegion {
    region: String,
    error: String,
}

pub async fn cmd_list(ctx: &Context, args: &ListArgs) -> Result<Exit, StageError> {
    layout::check_project(&args.project).map_err(StageError::Input)?;
    let target = resolve::resolve(ctx, &args.staging).await?;
    let project = args.project.as_str();
    let target = &target;
    let results =
        runner::for_each_region(&target.regions, target.regions.len(), |region| async move {
            let (versions, latest) = tokio::join!(
                list_in(target, &region, project),
                target.latest(&region, project)
            );
            versions.map(|v| (v, latest.ok().flatten()))
        })
        .await;

    let mut by_version: BTreeMap<Version, Vec<String>> = BTreeMap::new();
    let mut latest: Option<Version> = None;
    let mut answered = Vec::new();
    let mut failed = Vec::new();
    for (region, result) in results {
        match result {
            Ok((versions, region_latest)) => {
                for v in versions {
                    by_version.entry(v).or_default().push(region.clone());
                }
                if let Some(l) = region_latest.and_then(|l| Version::parse(l.trim()).ok())
                    && latest
                        .as_ref()
                        .is_none_or(|cur| l.cmp_precedence(cur).is_gt())
                {
                    latest = Some(l);
                }
                answered.push(region);
            }
            Err(error) => failed.push((region, error)),
        }
    }
    if answered.is_empty() {
        return Err(StageError::Unavailable {
            what: format!("cannot list {project} in any region"),
            failures: failed,
        });
    }
    let failed: Vec<FailedRegion> = failed
        .into_iter()
        .map(|(region, e)| FailedRegion {
            region,
            error: e.to_string(),
        })
        .collect();
    let listing = Listing {
        project: project.to_string(),
        latest: latest.map(|v| v.to_string()),
        versions: by_version
            .into_iter()
            .map(|(v, regions)| Listed {
                version: v.to_string(),
                regions,
            })
            .collect(),
        answered,
        failed,
    };
    for f in &listing.failed {
        ctx.ui.warn(format!("{}: {}", f.region, f.error));
    }
    ctx.ui.emit(&listing, || render_list(ctx, &listing))?;
    Ok(if listing.failed.is_empty() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

fn render_list(ctx: &Context, l: &Listing) -> String {
    if l.versions.is_empty() {
        return format!("no versions of {} are staged\n", l.project);
    }
    let width = l
        .versions
        .iter()
        .map(|v| v.version.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for v in &l.versions {
        let mut line = format!("{:<width$}", v.version);
        if l.latest.as_deref() == Some(v.version.as_str()) {
            line.push_str(&format!("  {}", ctx.ui.paint(Tone::Good, "latest")));
        }
        if v.regions.len() < l.answered.len() {
            line.push_str(&format!(
                "  {}",
                ctx.ui
                    .paint(Tone::Warn, format!("only in {}", v.regions.join(", ")))
            ));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The versions staged in one region: every key `<prefix><project>@<version>` whose suffix
/// is a canonical version (metadata objects and anything else under it are skipped).
async fn list_in(
    target: &StagingTarget,
    region: &str,
    project: &str,
) -> Result<Vec<Version>, RegionError> {
    let bucket = target.bucket(region).await?;
    let prefix = target.layout.project_prefix(project);
    let s3 = target.s3_read(region);
    let mut pages = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(&prefix)
        .into_paginator()
        .send();
    let mut versions = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page
            .classify("s3:ListObjectsV2", &s3)
            .map_err(RegionError::doing(format!(
                "listing s3://{bucket}/{prefix}"
            )))?;
        for obj in page.contents() {
            if let Some(v) = obj.key().and_then(|k| version_of(k, &prefix)) {
                versions.push(v);
            }
        }
    }
    Ok(versions)
}

/// The version of an artifact key, if `key` is one (not a metadata object).
pub fn version_of(key: &str, prefix: &str) -> Option<Version> {
    let rest = key.strip_prefix(prefix)?;
    if rest.contains('/') {
        return None;
    }
    layout::parse_version(rest).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_artifact_keys_are_versions() {
        let p = "pre/app@";
        assert_eq!(version_of("pre/app@1.2.3", p).unwrap().to_string(), "1.2.3");
        assert_eq!(
            version_of("pre/app@1.0.0-rc.1+b.2", p).unwrap().to_string(),
            "1.0.0-rc.1+b.2"
        );
        assert!(version_of("pre/app@1.2.3/metadata", p).is_none());
        assert!(version_of("pre/app@junk", p).is_none());
        assert!(version_of("pre/app-other@1.2.3", p).is_none());
        assert!(version_of("pre/app@01.2.3", p).is_none());
    }

    #[test]
    fn versions_sort_in_semver_order() {
        let mut v: Vec<Version> = ["1.10.0", "1.2.0", "1.2.0-rc.1", "1.2.0-alpha", "0.9.9"]
            .iter()
            .map(|s| Version::parse(s).unwrap())
            .collect();
        v.sort();
        let s: Vec<String> = v.iter().map(|v| v.to_string()).collect();
        assert_eq!(s, ["0.9.9", "1.2.0-alpha", "1.2.0-rc.1", "1.2.0", "1.10.0"]);
    }
}
