//! `provision metadata PROJECT VERSION --set k=v...`: adds or replaces metadata keys in every
//! region, keeping every other key.
//!
//! Read-modify-write guarded by the metadata object's ETag (`If-Match`; `If-None-Match: *`
//! when there is none yet), retried when another writer got in between, so concurrent
//! updates never lose each other's keys. Reserved keys (`provision:*`, `startifact:*`)
//! cannot be set: the SHA-256 and the file name describe the staged bytes.

use super::meta::{self, Guard};
use super::resolve::{self, StagingTarget};
use super::versions::{parse_wanted, resolve_version};
use super::{RegionError, StageError};
use crate::aws::SdkResultExt;
use crate::cli::MetadataArgs;
use crate::context::Context;
use crate::exit::Exit;
use crate::runner;
use crate::runner::{Failure, Reports, Run, Target, TargetOutcome};
use crate::startifact::layout::{self, Metadata};
use crate::ui::Tone;
use crate::ui::Ui;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const ATTEMPTS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum Status {
    Updated,
    Unchanged,
}

/// A region's metadata after the update.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Updated {
    status: Status,
    metadata: Metadata,
}

/// A region whose metadata could not be updated.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NotUpdated {
    status: FailedStatus,
    /// Always `null`: what the region holds is unknown.
    metadata: Option<Metadata>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum FailedStatus {
    Failed,
}

impl TargetOutcome for Updated {
    type Error = Failure;
    type Entry<'a> = &'a Updated;
    type FailedEntry = NotUpdated;
    type ErrorEntry = String;

    fn entry(&self, _: Duration) -> &Updated {
        self
    }

    fn summary(&self) -> String {
        match self.status {
            Status::Updated => "updated".into(),
            Status::Unchanged => "unchanged".into(),
        }
    }

    fn failed_entry(_: &Target, error: &Failure, _: Duration) -> (NotUpdated, String) {
        let failed = NotUpdated {
            status: FailedStatus::Failed,
            metadata: None,
        };
        (failed, error.message.clone())
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Report {
    project: String,
    version: String,
    set: BTreeMap<String, String>,
    regions: Reports<Updated>,
}

impl crate::document::Document for Report {
    const KIND: &'static str = "metadata";
}

pub async fn cmd_metadata(ctx: &Context, args: &MetadataArgs) -> Result<Exit, StageError> {
    layout::check_project(&args.project).map_err(StageError::Input)?;
    let wanted = parse_wanted(&args.version)?;
    let set = layout::parse_pairs(&args.set, "--set").map_err(StageError::Input)?;
    let target = resolve::resolve(ctx, &args.staging).await?;
    let version = resolve_version(&target, &args.project, wanted).await?;
    let key = target.layout.artifact_key(&args.project, &version);
    let targets = runner::regions(&target.regions);
    let regions = runner::run(Run::quiet(targets.len()), &targets, |t, _| {
        let (target, key, set) = (&target, key.as_str(), &set);
        async move {
            let (changed, metadata) = update_in(target, &t.region, key, set).await?;
            let status = if changed {
                Status::Updated
            } else {
                Status::Unchanged
            };
            Ok(Updated { status, metadata })
        }
    })
    .await;
    let report = Report {
        project: args.project.clone(),
        version: version.to_string(),
        set,
        regions,
    };
    report.regions.report_failures(&ctx.ui, Some(&key));
    ctx.ui.emit_report(&report, || render(&ctx.ui, &report))?;
    Ok(report.regions.exit())
}

fn render(ui: &Ui, report: &Report) -> String {
    let mut out = format!("{} {}: metadata\n", report.project, report.version);
    for r in report.regions.iter() {
        let (tone, text, error) = match &r.outcome {
            Ok(u) => (Tone::Good, u.summary(), String::new()),
            Err(e) => (
                Tone::Bad,
                "failed".into(),
                format!("  {}", crate::text::escape(&e.message)),
            ),
        };
        out.push_str(&format!(
            "  {}  {}{error}\n",
            r.region(),
            ui.paint(tone, text)
        ));
    }
    out
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
