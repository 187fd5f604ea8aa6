//! `provision stage PROJECT VERSION FILE`: inputs, the run, and the report's data (its
//! shape and rendering: [`super::stage_report`]).

use super::StageError;
use super::claim::{Conflict, claim_order, copy_pays};
use super::digest::{FileDigest, MAX_OBJECT_SIZE, digest_file};
use super::resolve::{self, StagingTarget};
use super::stage_flow::{Job, RegionStaging};
use super::stage_report::{StageReport, human_size, outcome, render};
use super::upload::{Artifact, Existing};
use crate::cli::StageArgs;
use crate::context::Context;
use crate::exit::Exit;
use crate::runner::{Reports, Target, TargetReport};
use crate::startifact::layout;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    ctx.ui.emit_report(&report, || render(&ctx.ui, &report))?;
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
