//! The report of `provision stage`: each region's outcome, the `provision.stage/v1`
//! document and its text rendering.

use super::meta::MetadataOutcome;
use super::stage_flow::{LatestChange, RegionStaging, Upload};
use super::upload::Existing;
use crate::runner::{Failed, Failure, Reports, Target, TargetOutcome};
use crate::startifact::layout::Metadata;
use crate::ui::{Tone, Ui};
use schemars::JsonSchema;
use serde::Serialize;
use std::time::Duration;

/// A region's status in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Staged,
    AlreadyStaged,
    WouldStage,
}

impl Status {
    pub(super) fn text(self) -> &'static str {
        match self {
            Status::Staged => "staged",
            Status::AlreadyStaged => "already staged",
            Status::WouldStage => "would stage",
        }
    }
}

/// A region staged (or, with `--dry-run`, ready to be).
/// Every field is always in the JSON document (`null` when it does not apply), as in a
/// failed region's entry (`failed_entry`); the entry's `error` is `null`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Staged {
    pub(super) status: Status,
    bucket: Option<String>,
    upload: Option<Upload>,
    metadata: Option<MetadataOutcome>,
    latest: Option<LatestChange>,
}

/// A region not staged, as its entry shows it: what was done there before it failed
/// (`latest` is never moved there); the entry's `error` says why.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StageFailed {
    status: FailedStatus,
    bucket: Option<String>,
    upload: Option<Upload>,
    metadata: Option<MetadataOutcome>,
    latest: Option<LatestChange>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum FailedStatus {
    Failed,
}

/// A region not staged: why, and what was done there before it failed.
#[derive(Debug)]
pub struct NotStaged {
    failure: Failure,
    bucket: Option<String>,
    upload: Option<Upload>,
    metadata: Option<MetadataOutcome>,
}

impl Failed for NotStaged {
    fn failure(&self) -> &Failure {
        &self.failure
    }
}

impl TargetOutcome for Staged {
    type Error = NotStaged;
    type Entry<'a> = &'a Staged;
    type FailedEntry = StageFailed;
    type ErrorEntry = String;

    fn entry(&self, _: Duration) -> &Staged {
        self
    }

    fn summary(&self) -> String {
        self.status.text().to_string()
    }

    fn failed_entry(_: &Target, e: &NotStaged, _: Duration) -> (StageFailed, String) {
        let failed = StageFailed {
            status: FailedStatus::Failed,
            bucket: e.bucket.clone(),
            upload: e.upload,
            metadata: e.metadata.clone(),
            latest: None,
        };
        (failed, e.failure.message.clone())
    }
}

/// A region's result, from what its phases left.
pub(super) fn outcome(s: RegionStaging, dry_run: bool) -> Result<Staged, NotStaged> {
    let status = match (&s.error, &s.existing, s.upload) {
        (Some(_), _, _) => None,
        (None, _, Some(Upload::Present)) | (None, Some(Existing::Same), None) => {
            Some(Status::AlreadyStaged)
        }
        (None, _, Some(_)) => Some(Status::Staged),
        (None, Some(Existing::Absent), None) if dry_run => Some(Status::WouldStage),
        _ => None,
    };
    match status {
        Some(status) => Ok(Staged {
            status,
            bucket: s.bucket,
            upload: s.upload,
            metadata: s.metadata,
            latest: s.latest,
        }),
        None => Err(NotStaged {
            failure: s
                .error
                .map_or_else(|| Failure::new("not staged"), Failure::from),
            bucket: s.bucket,
            upload: s.upload,
            metadata: s.metadata,
        }),
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StageReport {
    pub(super) project: String,
    pub(super) version: String,
    pub(super) key: String,
    pub(super) file: String,
    pub(super) size: u64,
    pub(super) sha256: String,
    pub(super) metadata: Metadata,
    pub(super) dry_run: bool,
    pub(super) copy: bool,
    /// Multipart part size in bytes; `null` for a single PutObject.
    pub(super) part_size: Option<u64>,
    pub(super) regions_source: String,
    /// Regions staged (or, with --dry-run, ready to stage).
    pub(super) staged: usize,
    pub(super) total: usize,
    pub(super) regions: Reports<Staged>,
}

impl crate::document::Document for StageReport {
    const KIND: &'static str = "stage";
}

pub(super) fn render(ui: &Ui, r: &StageReport) -> String {
    let verb = if r.dry_run { "can stage" } else { "staged" };
    let mut out = format!(
        "{} {}: {verb} in {} of {} regions (s3 key {}, {}, SHA-256 {})\n",
        r.project,
        r.version,
        r.staged,
        r.total,
        r.key,
        human_size(r.size),
        r.sha256
    );
    let width = r.regions.region_width().unwrap_or(0);
    for x in r.regions.iter() {
        let line = match &x.outcome {
            Ok(s) => staged_line(ui, r, s),
            Err(e) => {
                let mut line = ui.paint(Tone::Bad, format!("{:<14}", "failed"));
                if let Some(u) = e.upload.filter(|u| *u != Upload::Present) {
                    line.push_str(&format!("  {}", upload_text(u)));
                }
                line.push_str(&format!("  {}", crate::text::escape(&e.failure.message)));
                line
            }
        };
        let line = format!("  {:<width$}  {line}", x.region());
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A staged region's status, upload, and what became of `latest`.
fn staged_line(ui: &Ui, r: &StageReport, s: &Staged) -> String {
    let mut line = ui.paint(Tone::Good, format!("{:<14}", s.status.text()));
    if let Some(u) = s.upload.filter(|u| *u != Upload::Present) {
        line.push_str(&format!("  {}", upload_text(u)));
    }
    if r.dry_run && s.status == Status::WouldStage {
        line.push_str(if r.copy {
            "  upload or copy"
        } else {
            "  upload"
        });
    }
    if let Some(l) = &s.latest {
        line.push_str(&format!("  {}", latest_text(l, &r.version)));
    }
    line
}

fn upload_text(u: Upload) -> &'static str {
    match u {
        Upload::Put => "uploaded",
        Upload::Multipart => "uploaded in parts",
        Upload::Copy => "copied server-side",
        Upload::Present => "present",
    }
}

fn latest_text(l: &LatestChange, ours: &str) -> String {
    match (&l.previous, l.moved) {
        (None, _) => format!("latest set to {}", l.current),
        (Some(p), true) => format!("latest {p} → {}", l.current),
        (Some(p), false) if p == ours => format!("latest already {p}"),
        (Some(p), false) => format!("latest stays {p} (newer; --force-latest moves it)"),
    }
}

/// `1.0 MiB`, `100.0 MiB`, `512 B`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1024 * 1024), "1.0 MiB");
        assert_eq!(human_size(100 * 1024 * 1024), "100.0 MiB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
    }

    #[test]
    fn latest_lines_say_what_happened() {
        let l = |p: Option<&str>, c: &str, m| LatestChange {
            previous: p.map(String::from),
            current: c.into(),
            moved: m,
        };
        assert_eq!(
            latest_text(&l(None, "1.0.0", true), "1.0.0"),
            "latest set to 1.0.0"
        );
        assert_eq!(
            latest_text(&l(Some("0.9.0"), "1.0.0", true), "1.0.0"),
            "latest 0.9.0 → 1.0.0"
        );
        assert_eq!(
            latest_text(&l(Some("1.0.0"), "1.0.0", false), "1.0.0"),
            "latest already 1.0.0"
        );
        assert!(latest_text(&l(Some("2.0.0"), "2.0.0", false), "1.0.0").contains("stays 2.0.0"));
    }
}
