//! `provision metadata PROJECT VERSION --set k=v...`: adds or replaces metadata keys in every
//! region, keeping every other key.
//!
//! Read-modify-write guarded by the metadata object's ETag (`If-Match`; `If-None-Match: *`
//! when there is none yet), retried when another writer got in between, so concurrent
//! updates never lose each other's keys. Reserved keys (`provision:*`, `startifact:*`)
//! cannot be set: the SHA-256 and the file name describe the staged bytes.

use super::download::{parse_wanted, resolve_version};
use super::meta::{self, Guard};
use super::resolve::{self, StagingTarget};
use super::{RegionError, StageError};
use crate::aws::{self, SdkResultExt};
use crate::cli::MetadataArgs;
use crate::context::Context;
use crate::exit::Exit;
use crate::startifact::layout::{self, Metadata};
use crate::ui::Tone;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

const ATTEMPTS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    Updated,
    Unchanged,
    Failed,
}

#[derive(Debug, Serialize)]
struct RegionResult {
    region: String,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Report {
    project: String,
    version: String,
    set: BTreeMap<String, String>,
    regions: Vec<RegionResult>,
}

pub async fn cmd_metadata(ctx: &Context, args: &MetadataArgs) -> Result<Exit, StageError> {
    layout::check_project(&args.project).map_err(StageError::Input)?;
    let wanted = parse_wanted(&args.version)?;
    let set = layout::parse_pairs(&args.set, "--set").map_err(StageError::Input)?;
    let target = resolve::resolve(ctx, &args.staging).await?;
    let version = resolve_version(&target, &args.project, wanted).await?;
    let key = target.layout.artifact_key(&args.project, &version);
    let (target, key, set_ref) = (&target, key.as_str(), &set);
    let results =
        aws::for_each_region(&target.regions, target.regions.len(), |region| async move {
            update_in(target, &region, key, set_ref).await
        })
        .await;
    let regions: Vec<RegionResult> = results
        .into_iter()
        .map(|(region, r)| match r {
            Ok((changed, doc)) => RegionResult {
                region,
                status: if changed {
                    Status::Updated
                } else {
                    Status::Unchanged
                },
                metadata: Some(doc),
                error: None,
            },
            Err(e) => RegionResult {
                region,
                status: Status::Failed,
                metadata: None,
                error: Some(e.to_string()),
            },
        })
        .collect();
    let failed = regions.iter().any(|r| r.status == Status::Failed);
    let report = Report {
        project: args.project.clone(),
        version: version.to_string(),
        set,
        regions,
    };
    ctx.ui.emit_report("metadata", &report, || {
        let mut out = format!("{} {}: metadata\n", report.project, report.version);
        for r in &report.regions {
            let (tone, text) = match r.status {
                Status::Updated => (Tone::Good, "updated"),
                Status::Unchanged => (Tone::Good, "unchanged"),
                Status::Failed => (Tone::Bad, "failed"),
            };
            out.push_str(&format!(
                "  {}  {}{}\n",
                r.region,
                ctx.ui.paint(tone, text),
                r.error
                    .as_ref()
                    .map(|e| format!("  {e}"))
                    .unwrap_or_default()
            ));
        }
        out
    })?;
    Ok(if failed { Exit::Failure } else { Exit::Success })
}

/// Sets the keys in one region; returns whether anything changed, and the document.
async fn update_in(
    target: &StagingTarget,
    region: &str,
    key: &str,
    set: &BTreeMap<String, String>,
) -> Result<(bool, Metadata), RegionError> {
    let bucket = target.bucket(region).await?;
    let s3 = target.s3_read(region);
    if let Err(e) = s3
        .head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .classify("s3:HeadObject", &s3)
    {
        return Err(if e.is_not_found() {
            RegionError::Missing(format!("s3://{bucket}/{key} is not staged in this region"))
        } else {
            RegionError::doing(format!("checking s3://{bucket}/{key}"))(e)
        });
    }
    let writer = target.s3_write(region);
    for _ in 0..ATTEMPTS {
        let current = meta::get(&s3, &bucket, key).await?;
        let mut doc = current.as_ref().map(|f| f.doc.clone()).unwrap_or_default();
        for (k, v) in set {
            doc.insert(k.clone(), Value::String(v.clone()));
        }
        if current.as_ref().is_some_and(|f| f.doc == doc) {
            return Ok((false, doc));
        }
        let guard = match &current {
            None => Guard::Absent,
            Some(f) => match &f.etag {
                Some(etag) => Guard::Unchanged(etag),
                None => {
                    return Err(RegionError::Content(format!(
                        "{} has no ETag",
                        layout::metadata_key(key)
                    )));
                }
            },
        };
        if meta::put(&writer, &bucket, key, &doc, guard).await? {
            return Ok((true, doc));
        }
    }
    Err(RegionError::Content(format!(
        "{} kept changing while it was written; run again",
        layout::metadata_key(key)
    )))
}
