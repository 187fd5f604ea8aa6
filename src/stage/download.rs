//! `provision download PROJECT [VERSION|latest] PATH [--filename]`.
//!
//! Regions are tried in failover order (the preferred region, then the others shuffled);
//! any error in a region — unreachable, throttled, object missing, stalled body — moves on
//! to the next. The object streams into a temporary file next to PATH while its SHA-256 is
//! computed; the file is synced and renamed over PATH only when the digest matches the
//! metadata. A mismatch is not an outage but a changed object: it stops the download with
//! an integrity error, and the temporary file is removed.

use super::checksums::{self, Running};
use super::destination::{Destination, parent_dir, split_rest};
use super::meta;
use super::resolve::{self, StagingTarget};
use super::versions::{Located, locate};
use super::{IntegrityError, RegionError, StageError};
use crate::aws::SdkResultExt;
use crate::cli::DownloadArgs;
use crate::context::Context;
use crate::exit::Exit;
use crate::startifact::layout::{
    self, FILENAME_KEY, OBJECT_SHA256, is_sha256_hex, recorded_sha256,
};
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::types::ChecksumMode;
use schemars::JsonSchema;
use semver::Version;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// A body that delivers nothing for this long is abandoned for the next region.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);
const WRITE_BUFFER: usize = 1024 * 1024;
/// The name prefix of the temporary file a download streams into.
pub(super) const TEMP_PREFIX: &str = ".provision-download-";

/// Why one region's attempt ended.
enum Attempt {
    /// Try the next region.
    Next(RegionError),
    /// Stop: the failure is not the region's (integrity, unsafe name, local disk).
    Stop(StageError),
}

impl From<RegionError> for Attempt {
    fn from(e: RegionError) -> Self {
        Attempt::Next(e)
    }
}

/// What the downloaded bytes were checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verification {
    /// The SHA-256 recorded at staging (in the metadata or on the object).
    Sha256,
    /// S3's own full-object checksum (`crc32`, `crc32c`, `crc64nvme`, `sha1`, `sha256`).
    S3(&'static str),
    /// Nothing was recorded: the bytes were not verified.
    Unverified,
}

impl Serialize for Verification {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Verification::Sha256 => s.serialize_str("sha256"),
            Verification::S3(algorithm) => s.serialize_str(&format!("s3-{algorithm}")),
            Verification::Unverified => s.serialize_str("none"),
        }
    }
}

/// `sha256`, `s3-<algorithm>` or `none`.
impl schemars::JsonSchema for Verification {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Verification".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(sha256|none|s3-(crc32|crc32c|crc64nvme|sha1|sha256))$",
        })
    }
}

impl Verification {
    fn text(self) -> String {
        match self {
            Verification::Sha256 => "SHA-256 verified".to_string(),
            Verification::S3(algorithm) => format!("verified with S3's {algorithm} checksum"),
            Verification::Unverified => "not verified: no checksum recorded".to_string(),
        }
    }
}

/// What `download` reports.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Downloaded {
    project: String,
    version: String,
    pub(super) region: String,
    bucket: String,
    key: String,
    path: String,
    size: u64,
    sha256: String,
    /// What the bytes were checked against: `sha256` (the metadata's), `s3-<algorithm>`
    /// (S3's full-object checksum), or `none`.
    verified: Verification,
    /// Regions tried first that failed, and why (`[]` when none did).
    pub(super) skipped: Vec<Skipped>,
}

impl crate::document::Document for Downloaded {
    const KIND: &'static str = "download";
}

#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct Skipped {
    pub(super) region: String,
    pub(super) error: String,
}

pub async fn cmd_download(ctx: &Context, args: &DownloadArgs) -> Result<Exit, StageError> {
    let done = download(ctx, args).await?;
    if done.verified == Verification::Unverified && ctx.ui.verbose > 0 {
        ctx.ui.status(format!(
            "note: {} has no recorded SHA-256 and S3 holds no full-object checksum for it: its bytes were not verified",
            done.key
        ));
    }
    ctx.ui.emit_report(&done, || {
        format!(
            "downloaded {} {} from {} to {} ({}, {})",
            done.project,
            done.version,
            done.region,
            crate::text::escape(&done.path),
            super::stage_report::human_size(done.size),
            done.verified.text()
        )
    })?;
    Ok(Exit::Success)
}

/// Downloads from the first region (in failover order) that has the artifact.
pub(super) async fn download(ctx: &Context, args: &DownloadArgs) -> Result<Downloaded, StageError> {
    layout::check_project(&args.project).map_err(StageError::Input)?;
    let (wanted, path) = split_rest(&args.rest)?;
    let dest = Destination::check(path, args.filename)?;
    let target = resolve::resolve(ctx, &args.staging).await?;
    let mut version = wanted;
    let mut failures = Vec::new();
    for region in target.read_order() {
        match attempt(&target, &region, &args.project, &mut version, &dest).await {
            Ok(mut done) => {
                done.skipped = failures
                    .into_iter()
                    .map(|(region, error): (String, RegionError)| Skipped {
                        region,
                        error: error.to_string(),
                    })
                    .collect();
                return Ok(done);
            }
            Err(Attempt::Stop(e)) => return Err(e),
            Err(Attempt::Next(why)) => {
                ctx.ui.status(format!("{region}: {why}"));
                failures.push((region, why));
            }
        }
    }
    Err(StageError::Unavailable {
        what: format!(
            "cannot download {} {} from any region",
            args.project,
            version.map_or("latest".to_string(), |v| v.to_string())
        ),
        failures,
    })
}

/// Downloads from one region: locate, fetch, stream into a temporary file while hashing,
/// verify, and move into place.
async fn attempt(
    target: &StagingTarget,
    region: &str,
    project: &str,
    version: &mut Option<Version>,
    dest: &Destination,
) -> Result<Downloaded, Attempt> {
    let at = locate(target, region, project, version).await?;
    let s3 = target.s3_read(region);
    let (fetched, object) = tokio::join!(
        meta::get(&s3, &at.bucket, &at.key),
        s3.get_object().bucket(&at.bucket).key(&at.key).send()
    );
    let object = object.classify("s3:GetObject", &s3).map_err(|e| {
        if e.is_not_found() {
            RegionError::not_found(e, &at.bucket, &at.key)
        } else {
            RegionError::doing(format!("reading s3://{}/{}", at.bucket, at.key))(e)
        }
    })?;
    let doc = fetched?.map(|f| f.doc);
    let final_path = destination(dest, &at, doc.as_ref())?;
    let doc = doc.unwrap_or_default();
    let mut check = expected_check(&s3, &at, &doc, &object).await?;
    let dir = parent_dir(&final_path);
    let temp = temp_file(&dir, &final_path).map_err(Attempt::Stop)?;
    let (temp_path, size, sha256) = receive(object, &at.key, temp, &mut check).await?;
    let verified = verify(check, &sha256).map_err(|(algorithm, expected, actual)| {
        Attempt::Stop(StageError::Integrity(Box::new(IntegrityError {
            region: at.region.clone(),
            bucket: at.bucket.clone(),
            key: at.key.clone(),
            algorithm,
            expected,
            actual,
        })))
    })?;
    persist(temp_path, &final_path, &dir)?;
    Ok(Downloaded {
        project: project.to_string(),
        version: at.version.to_string(),
        region: at.region,
        bucket: at.bucket,
        key: at.key,
        path: final_path.display().to_string(),
        size,
        sha256,
        verified,
        skipped: Vec::new(),
    })
}

/// The final path: PATH, or PATH/<the staged file name> with `--filename`.
fn destination(
    dest: &Destination,
    at: &Located,
    doc: Option<&layout::Metadata>,
) -> Result<PathBuf, Attempt> {
    match (dest, doc) {
        (Destination::Directory(_), None) => Err(Attempt::Next(RegionError::Missing(format!(
            "{} does not exist",
            layout::metadata_key(&at.key)
        )))),
        _ => {
            let name = doc
                .and_then(|d| d.get(FILENAME_KEY))
                .and_then(|v| v.as_str());
            dest.resolve(name).map_err(|reason| {
                Attempt::Stop(StageError::UnsafeFilename {
                    region: at.region.clone(),
                    key: at.key.clone(),
                    reason,
                })
            })
        }
    }
}

/// What to check the bytes against.
enum Check {
    /// The recorded SHA-256 (hex, lowercase).
    Sha256(String),
    /// S3's full-object checksum, computed along.
    S3(Running),
    Nothing,
}

/// The recorded SHA-256 (the metadata's, else the object's own), else S3's full-object
/// checksum (objects staged by Startifact), else nothing.
async fn expected_check(
    s3: &aws_sdk_s3::Client,
    at: &Located,
    doc: &layout::Metadata,
    object: &GetObjectOutput,
) -> Result<Check, RegionError> {
    let recorded = recorded_sha256(doc).or_else(|| {
        object
            .metadata()
            .and_then(|m| m.get(OBJECT_SHA256))
            .filter(|s| is_sha256_hex(s))
            .map(|s| s.to_ascii_lowercase())
    });
    if let Some(sha) = recorded {
        return Ok(Check::Sha256(sha));
    }
    let head = s3
        .head_object()
        .bucket(&at.bucket)
        .key(&at.key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .classify("s3:HeadObject", s3)
        .map_err(RegionError::doing(format!(
            "reading s3://{}/{}",
            at.bucket, at.key
        )))?;
    Ok(checksums::full_object(&head)
        .and_then(Running::new)
        .map_or(Check::Nothing, Check::S3))
}

/// The temporary file the download streams into, next to `final_path`, with the mode the
/// result must have: a file it replaces keeps its mode (without set-user-ID and set-group-ID:
/// a download never carries those); a new one gets `0666 & !umask`, as any program's new
/// file does (the kernel applies the umask when the file is opened).
fn temp_file(dir: &Path, final_path: &Path) -> Result<tempfile::NamedTempFile, StageError> {
    let creating = |e| StageError::io(format!("creating a temporary file in {}", dir.display()), e);
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    #[cfg(unix)]
    let kept = {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
        std::fs::metadata(final_path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| std::fs::Permissions::from_mode(m.permissions().mode() & 0o777))
    };
    sweep_stale(dir);
    let temp = builder.tempfile_in(dir).map_err(creating)?;
    // Held while the download lives: what `sweep_stale` tells a live download by.
    temp.as_file().lock().map_err(creating)?;
    #[cfg(unix)]
    if let Some(mode) = kept {
        temp.as_file().set_permissions(mode).map_err(creating)?;
    }
    #[cfg(not(unix))]
    let _ = final_path;
    Ok(temp)
}

/// Removes the temporary files that downloads killed before they could clean up (SIGKILL, a
/// power cut) left in `dir`. A live download holds a lock on its file; a file nobody holds
/// is stale. Best effort: what cannot be removed stays.
fn sweep_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(TEMP_PREFIX))
            && entry.file_type().is_ok_and(|t| t.is_file())
            && std::fs::File::open(entry.path()).is_ok_and(|f| f.try_lock().is_ok());
        if stale && std::fs::remove_file(entry.path()).is_ok() {
            tracing::info!(
                "removed {}, left by an earlier download",
                entry.path().display()
            );
        }
    }
}

/// Streams the body into the temporary file, hashing it (and computing S3's checksum when
/// that is the check); the file is synced. Returns it with the size and the SHA-256.
async fn receive(
    object: GetObjectOutput,
    key: &str,
    temp: tempfile::NamedTempFile,
    check: &mut Check,
) -> Result<(tempfile::TempPath, u64, String), Attempt> {
    let (file, temp_path) = temp.into_parts();
    let write_err = |e: std::io::Error| {
        Attempt::Stop(StageError::io(
            format!("writing {}", temp_path.display()),
            e,
        ))
    };
    let mut out =
        tokio::io::BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(file));
    let mut sha = Sha256::new();
    let mut size: u64 = 0;
    let mut body = object.body;
    loop {
        let chunk = match tokio::time::timeout(STALL_TIMEOUT, body.next()).await {
            Err(_) => {
                return Err(Attempt::Next(RegionError::Transfer(format!(
                    "no data for {}s while reading {key}",
                    STALL_TIMEOUT.as_secs()
                ))));
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(Attempt::Next(RegionError::Transfer(format!(
                    "reading {key}: {e}"
                ))));
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        sha.update(&chunk);
        if let Check::S3(c) = check {
            c.update(&chunk);
        }
        size += chunk.len() as u64;
        out.write_all(&chunk).await.map_err(write_err)?;
    }
    if let Some(len) = object.content_length.filter(|l| *l as u64 != size) {
        return Err(Attempt::Next(RegionError::Transfer(format!(
            "{key}: received {size} of {len} bytes"
        ))));
    }
    out.flush().await.map_err(write_err)?;
    out.into_inner().sync_all().await.map_err(write_err)?;
    Ok((temp_path, size, hex::encode(sha.finalize())))
}

/// Checks the bytes' SHA-256 (or S3's checksum) against the expected one; on a mismatch the
/// algorithm, the expected and the actual value.
fn verify(check: Check, sha256: &str) -> Result<Verification, (String, String, String)> {
    match check {
        Check::Sha256(expected) if expected != sha256 => {
            Err(("SHA-256".into(), expected, sha256.to_string()))
        }
        Check::Sha256(_) => Ok(Verification::Sha256),
        Check::S3(c) => {
            let algorithm = c.expected.algorithm;
            let expected = c.expected.value.clone();
            let (got, ok) = c.finish();
            if ok {
                Ok(Verification::S3(algorithm))
            } else {
                Err((
                    format!("{} (S3 checksum)", algorithm.to_uppercase()),
                    expected,
                    got,
                ))
            }
        }
        Check::Nothing => Ok(Verification::Unverified),
    }
}

/// Moves the verified download into place (atomically, with the mode `temp_file` gave it),
/// durably.
fn persist(temp_path: tempfile::TempPath, final_path: &Path, dir: &Path) -> Result<(), Attempt> {
    let io = |context: String| move |e| Attempt::Stop(StageError::io(context, e));
    temp_path
        .persist(final_path)
        .map_err(|e| e.error)
        .map_err(io(format!(
            "moving the download to {}",
            final_path.display()
        )))?;
    // Make the rename itself durable (best effort: not every file system allows it).
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
