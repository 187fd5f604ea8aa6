//! `provision stage PROJECT VERSION FILE`: inputs, the run, and the per-region report.

use super::StageError;
use super::claim::{Conflict, claim_order, copy_pays};
use super::digest::{FileDigest, MAX_OBJECT_SIZE, digest_file};
use super::meta::MetadataOutcome;
use super::resolve::{self, StagingTarget};
use super::stage_flow::{Job, LatestChange, RegionStaging, Upload};
use super::upload::{Artifact, Existing};
use crate::cli::StageArgs;
use crate::context::Context;
use crate::exit::Exit;
use crate::runner::{Failed, Failure, Reports, Target, TargetOutcome, TargetReport};
use crate::startifact::layout::{self, Metadata};
use crate::ui::{Tone, Ui};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Validated inputs (exit 3 when any is wrong, before anything is read from AWS).
struct Request {
    version: semver::Version,
    user_metadata: BTreeMap<String, String>,
    filename: Option<String>,
    size: u64,
}

fn validate(args: &StageArgs) -> Result<Request, StageError> {
    layout::check_project(&args.project).map_err(StageError::Input)?;
    let version = layout::parse_version(&args.version).map_err(StageError::Input)?;
    let user_metadata =
        layout::parse_pairs(&args.metadata, "--metadata").map_err(StageError::Input)?;
    let path = &args.file;
    let meta = std::fs::metadata(path).map_err(|e| {
        StageError::Input(format!("{}: cannot read the artifact: {e}", path.display()))
    })?;
    if !meta.is_file() {
        return Err(StageError::Input(format!(
            "{}: is not a regular file",
            path.display()
        )));
    }
    if meta.len() > MAX_OBJECT_SIZE {
        return Err(StageError::Input(format!(
            "{}: is {} bytes; S3 objects are at most 5 TiB",
            path.display(),
            meta.len()
        )));
    }
    let filename = match args.filename.as_deref() {
        None => None,
        Some("") => Some(
            path.file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| {
                    StageError::Input(format!(
                        "{}: the file name is not UTF-8; pass --filename=NAME",
                        path.display()
                    ))
                })?
                .to_string(),
        ),
        Some(name) => Some(name.to_string()),
    };
    if let Some(name) = &filename {
        layout::check_filename(name).map_err(|e| StageError::Input(format!("--filename: {e}")))?;
    }
    Ok(Request {
        version,
        user_metadata,
        filename,
        size: meta.len(),
    })
}

pub async fn cmd_stage(ctx: &Context, args: &StageArgs) -> Result<Exit, StageError> {
    let req = validate(args)?;
    let (target, digest) = resolve_and_hash(ctx, args, &req).await?;
    let key = target.layout.artifact_key(&args.project, &req.version);
    let metadata =
        layout::staged_metadata(&req.user_metadata, req.filename.as_deref(), &digest.hex());
    let regions = claim_order(&target.regions, &target.org.regions);
    let progress = ctx.ui.progress();
    let job = Job {
        target: &target,
        artifact: Artifact {
            path: &args.file,
            digest: &digest,
            key: &key,
        },
        metadata: &metadata,
        project: &args.project,
        version: &req.version,
        force_latest: args.force_latest,
        copy: args.copy || (!args.no_copy && copy_pays(digest.size, regions.len())),
        dry_run: args.dry_run,
        cancel: &ctx.cancel,
        lines: regions
            .iter()
            .map(|r| (r.clone(), progress.line(r)))
            .collect(),
        regions,
    };
    ctx.ui.status(format!(
        "staging {} {} ({}, SHA-256 {}) to {} region{} ({})",
        args.project,
        req.version,
        human_size(digest.size),
        &digest.hex()[..12],
        job.regions.len(),
        if job.regions.len() == 1 { "" } else { "s" },
        target.regions_source
    ));
    let states = run(&job, args, &req).await?;
    let report = report(args, &req, &target, &job, &digest, states);
    report.regions.report_failures(&ctx.ui, Some(&key));
    ctx.ui
        .emit_report("stage", &report, || render(&ctx.ui, &report))?;
    Ok(report.regions.exit())
}

/// Reads the organisation configuration while the file is hashed; stops hashing if that
/// fails.
async fn resolve_and_hash(
    ctx: &Context,
    args: &StageArgs,
    req: &Request,
) -> Result<(StagingTarget, FileDigest), StageError> {
    let cancel = Arc::new(AtomicBool::new(false));
    let hashing = {
        let (path, size, cancel) = (args.file.clone(), req.size, cancel.clone());
        tokio::task::spawn_blocking(move || digest_file(&path, size, &cancel))
    };
    let target = match resolve::resolve(ctx, &args.staging).await {
        Ok(t) => t,
        Err(e) => {
            cancel.store(true, Ordering::Relaxed);
            return Err(e);
        }
    };
    let digest = hashing
        .await
        .map_err(|e| StageError::io("hashing the artifact", std::io::Error::other(e)))?
        .map_err(|e| {
            StageError::Input(format!(
                "{}: cannot read the artifact: {e}",
                args.file.display()
            ))
        })?;
    Ok((target, digest))
}

/// The three phases: check every region (other bytes anywhere stop the stage), upload in
/// claim order, then metadata and `latest` (not with `--dry-run`).
async fn run(
    job: &Job<'_>,
    args: &StageArgs,
    req: &Request,
) -> Result<HashMap<String, RegionStaging>, StageError> {
    let (mut states, head_start) = job.check().await;
    let conflicts: Vec<(String, String)> = job
        .regions
        .iter()
        .filter_map(|r| match &states[r].existing {
            Some(Existing::Different(why)) => Some((r.clone(), why.clone())),
            _ => None,
        })
        .collect();
    if !conflicts.is_empty() {
        if let Some(h) = head_start {
            h.abandon().await;
        }
        finish_lines(job, &states, args.dry_run);
        return Err(conflict(args, req, conflicts));
    }
    if !args.dry_run {
        if let Err(Conflict(regions)) = job.upload(&mut states, head_start).await {
            finish_lines(job, &states, false);
            return Err(conflict(args, req, regions));
        }
        job.finish(&mut states).await;
    }
    finish_lines(job, &states, args.dry_run);
    Ok(states)
}

fn conflict(args: &StageArgs, req: &Request, regions: Vec<(String, String)>) -> StageError {
    StageError::Conflict {
        what: format!(
            "{} {} is already staged with different content; nothing was changed",
            args.project, req.version
        ),
        regions,
    }
}

fn finish_lines(job: &Job<'_>, states: &HashMap<String, RegionStaging>, dry_run: bool) {
    for r in &job.regions {
        let s = &states[r];
        let text = match (&s.existing, outcome(s.clone(), dry_run)) {
            (Some(Existing::Different(_)), _) => "other content",
            (_, Ok(staged)) => staged.status.text(),
            (_, Err(_)) => "failed",
        };
        job.lines[r].finish(text);
    }
}

/// A region's status in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Staged,
    AlreadyStaged,
    WouldStage,
}

impl Status {
    fn text(self) -> &'static str {
        match self {
            Status::Staged => "staged",
            Status::AlreadyStaged => "already staged",
            Status::WouldStage => "would stage",
        }
    }
}

/// A region staged (or, with `--dry-run`, ready to be).
#[derive(Debug, Serialize)]
/// Every field is always in the JSON document (`null` when it does not apply), as in a
/// failed region's entry (`failed_entry`).
struct Staged {
    status: Status,
    bucket: Option<String>,
    upload: Option<Upload>,
    metadata: Option<MetadataOutcome>,
    latest: Option<LatestChange>,
    /// Always `null` here; a failed region's reason.
    error: Option<String>,
}

/// A region not staged: why, and what was done there before it failed.
#[derive(Debug)]
struct NotStaged {
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

    fn summary(&self) -> String {
        self.status.text().to_string()
    }

    fn failed_entry(_: &Target, e: &NotStaged, _: Duration) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("status".into(), "failed".into());
        m.insert("bucket".into(), e.bucket.clone().into());
        for (key, value) in [
            ("upload", serde_json::to_value(e.upload)),
            ("metadata", serde_json::to_value(&e.metadata)),
        ] {
            m.insert(key.into(), value.unwrap_or(Value::Null));
        }
        m.insert("latest".into(), Value::Null);
        m.insert("error".into(), e.failure.message.clone().into());
        m
    }
}

/// A region's result, from what its phases left.
fn outcome(s: RegionStaging, dry_run: bool) -> Result<Staged, NotStaged> {
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
            error: None,
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

#[derive(Debug, Serialize)]
struct StageReport {
    project: String,
    version: String,
    key: String,
    file: String,
    size: u64,
    sha256: String,
    metadata: Metadata,
    dry_run: bool,
    copy: bool,
    /// Multipart part size in bytes; `null` for a single PutObject.
    part_size: Option<u64>,
    regions_source: String,
    /// Regions staged (or, with --dry-run, ready to stage).
    staged: usize,
    total: usize,
    regions: Reports<Staged>,
}

fn report(
    args: &StageArgs,
    req: &Request,
    target: &StagingTarget,
    job: &Job<'_>,
    digest: &FileDigest,
    mut states: HashMap<String, RegionStaging>,
) -> StageReport {
    let regions = Reports(
        job.regions
            .iter()
            .map(|r| {
                let s = states.remove(r).unwrap_or_default();
                TargetReport::new(Target::region(r), outcome(s, args.dry_run))
            })
            .collect(),
    );
    StageReport {
        project: args.project.clone(),
        version: req.version.to_string(),
        key: job.artifact.key.to_string(),
        file: args.file.display().to_string(),
        size: digest.size,
        sha256: digest.hex(),
        metadata: job.metadata.clone(),
        dry_run: args.dry_run,
        copy: job.copy,
        part_size: digest.part_size,
        regions_source: target.regions_source.clone(),
        staged: regions.succeeded().count(),
        total: regions.0.len(),
        regions,
    }
}

fn render(ui: &Ui, r: &StageReport) -> String {
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
