//! One region's artifact object: inspect what is there, upload without ever overwriting.
//!
//! Small files go up in one `PutObject` (read into memory and checked against the first
//! pass before it is sent); larger ones as a multipart upload whose parts are read from the
//! file one by one (`ByteStream` over a file range: nothing is buffered), a few at a time,
//! each hashed as it is sent and checked before the upload is completed ([`super::sent`]). The write that makes the object visible — `PutObject` or
//! `CompleteMultipartUpload` — carries `If-None-Match: *`, so of two stagers of one version
//! exactly one wins, with no window between a check and a write. A multipart upload that
//! fails is aborted; one whose process was killed stays invisible until the bucket's
//! lifecycle rule removes it.

use super::RegionError;
use super::digest::FileDigest;
use super::meta;
use super::sent::{self, Sent};
use crate::aws::{AwsError, ErrorKind, SdkResultExt};
use crate::cancel::{Cancel, Deferred};
use crate::startifact::layout::{OBJECT_SHA256, is_sha256_hex};
use crate::ui::ProgressLine;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart};
use futures_util::{Stream, StreamExt};
use std::path::Path;

/// Parts in flight per region on a near link. Bodies stream from the file, so this bounds
/// connections, not memory.
pub const PART_CONCURRENCY: usize = 4;
/// Most parts in flight per region, on a far link.
pub const MAX_PART_CONCURRENCY: usize = 16;
/// The uplink a CI runner is assumed to have (the shaped bed's `ci` profile) when choosing
/// the parts in flight; the round trip is measured.
const ASSUMED_UPLINK_BYTES_PER_SEC: f64 = 50e6;

/// Parts in flight for a region whose round trip is `rtt`. With k parts of P bytes in flight,
/// uplink B and round trip R, the link is busy about kP / (kP + B·R) of the time (the parts
/// share it, finish together, and the next ones start a round trip later): 90 % takes about
/// 9·B·R bytes in flight. At 5 ms that is under one part (4 stay); at 250 ms, 14 parts of
/// 8 MiB. Unknown round trip: 4.
pub fn parts_in_flight(rtt: Option<std::time::Duration>, part_size: u64) -> usize {
    let Some(rtt) = rtt else {
        return PART_CONCURRENCY;
    };
    let wanted = 9.0 * ASSUMED_UPLINK_BYTES_PER_SEC * rtt.as_secs_f64() / part_size.max(1) as f64;
    (wanted.ceil() as usize).clamp(PART_CONCURRENCY, MAX_PART_CONCURRENCY)
}

/// The file being staged.
#[derive(Clone, Copy)]
pub struct Artifact<'a> {
    pub path: &'a Path,
    pub digest: &'a FileDigest,
    pub key: &'a str,
}

/// What a region holds under the artifact's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    Absent,
    /// The same bytes (a resumed or repeated stage).
    Same,
    /// Other bytes; the reason says how we know.
    Different(String),
}

/// Finds out whether the region already has the artifact, and whether it is the same.
/// The SHA-256 comes from the object's own user metadata (written atomically with it), else
/// S3's full-object SHA-256 checksum, else the metadata document; an object staged by
/// Startifact has none of them and is compared by size, then by hashing its bytes.
pub async fn inspect(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    artifact: Artifact<'_>,
) -> Result<Existing, RegionError> {
    let head = match s3
        .head_object()
        .bucket(bucket)
        .key(artifact.key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .classify("s3:HeadObject", s3)
    {
        Ok(h) => h,
        Err(e) if e.is_not_found() => return Ok(Existing::Absent),
        Err(e) => return Err(RegionError::doing(format!("checking {}", artifact.key))(e)),
    };
    let ours = artifact.digest.hex();
    let verdict = |theirs: &str, source: &str| {
        if theirs.eq_ignore_ascii_case(&ours) {
            Existing::Same
        } else {
            Existing::Different(format!(
                "its SHA-256 ({source}) is {theirs}, this file's is {ours}"
            ))
        }
    };
    if let Some(sha) = head
        .metadata()
        .and_then(|m| m.get(OBJECT_SHA256))
        .filter(|s| is_sha256_hex(s))
    {
        return Ok(verdict(sha, "x-amz-meta-sha256"));
    }
    if let Some(full) = super::checksums::full_object(&head).filter(|c| c.algorithm == "sha256")
        && let Ok(raw) = aws_smithy_types::base64::decode(&full.value)
        && raw.len() == 32
    {
        return Ok(verdict(&hex::encode(raw), "S3 checksum"));
    }
    if let Some(fetched) = meta::get(s3, bucket, artifact.key).await?
        && let Some(sha) = crate::startifact::layout::recorded_sha256(&fetched.doc)
    {
        return Ok(verdict(&sha, "metadata"));
    }
    let size = head.content_length().unwrap_or(-1);
    if size != artifact.digest.size as i64 {
        return Ok(Existing::Different(format!(
            "it is {size} bytes, this file {}",
            artifact.digest.size
        )));
    }
    let theirs = hash_object(s3, bucket, artifact.key).await?;
    Ok(verdict(&theirs, "computed from its bytes"))
}

/// Streams an object and returns its SHA-256 (hex).
pub async fn hash_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<String, RegionError> {
    use sha2::{Digest, Sha256};
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .classify("s3:GetObject", s3)
        .map_err(RegionError::doing(format!("reading {key}")))?;
    let mut body = out.body;
    let mut h = Sha256::new();
    while let Some(chunk) = body.next().await {
        h.update(&chunk.map_err(|e| RegionError::Transfer(format!("reading {key}: {e}")))?);
    }
    Ok(hex::encode(h.finalize()))
}

/// The outcome of a write guarded by `If-None-Match: *`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Our bytes are now the object.
    Written,
    /// The key existed first: inspect it.
    Preempted,
}

impl Committed {
    /// What the answer to a write guarded by `If-None-Match: *` means; any failure but a
    /// lost condition is an error, `what` (e.g. "uploading app@1.0.0") followed by the cause.
    pub fn of<O>(
        answer: Result<O, AwsError>,
        what: impl FnOnce() -> String,
    ) -> Result<Committed, RegionError> {
        match answer {
            Ok(_) => Ok(Committed::Written),
            // The object exists (412), or another conditional write to it was in flight (409).
            Err(e) if e.kind == ErrorKind::Conflict => Ok(Committed::Preempted),
            Err(e) => Err(RegionError::doing(what())(e)),
        }
    }
}

/// Uploads a small artifact in one `PutObject`.
pub async fn put_single(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    artifact: Artifact<'_>,
) -> Result<Committed, RegionError> {
    let d = artifact.digest;
    // The write is the commit: what is sent is checked against the first pass before it.
    let body = ByteStream::from(sent::read_checked(artifact.path, d.size, &d.sha256).await?);
    let res = s3
        .put_object()
        .bucket(bucket)
        .key(artifact.key)
        .body(body)
        .content_length(d.size as i64)
        .checksum_sha256(d.base64())
        .metadata(OBJECT_SHA256, d.hex())
        .if_none_match("*")
        .send()
        .await
        .classify("s3:PutObject", s3);
    Committed::of(res, || format!("uploading {}", artifact.key))
}

/// A multipart upload whose parts are all uploaded, not yet visible.
pub struct Pending {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub parts: Vec<CompletedPart>,
    /// Its abort, registered to run if a signal ends the command first (withdrawn once the
    /// upload is completed or aborted).
    pub on_signal: Option<Deferred>,
}

impl Pending {
    /// Starts a multipart upload of `key` whose object records `sha256_hex` in its user
    /// metadata, with no parts yet. `checksum`: the algorithm S3 checks each part with.
    /// `activity` ("upload", "copy") names the upload in errors.
    pub async fn start(
        s3: &aws_sdk_s3::Client,
        bucket: &str,
        key: &str,
        sha256_hex: &str,
        checksum: Option<ChecksumAlgorithm>,
        activity: &str,
        cancel: &Cancel,
    ) -> Result<Pending, RegionError> {
        // From the request until its abort is registered, a signal must not drop us: the
        // upload would exist with nobody to abort it.
        let _shield = cancel.shield();
        if let Some(signal) = cancel.signal() {
            return Err(RegionError::File(format!(
                "not starting the {activity} of {key}: interrupted by {}",
                signal.name()
            )));
        }
        let created = s3
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .set_checksum_algorithm(checksum)
            .metadata(OBJECT_SHA256, sha256_hex)
            .send()
            .await
            .classify("s3:CreateMultipartUpload", s3)
            .map_err(RegionError::doing(format!(
                "starting the {activity} of {key}"
            )))?;
        let Some(upload_id) = created.upload_id else {
            return Err(RegionError::Content(format!(
                "S3 returned no upload ID for {key}"
            )));
        };
        let mut pending = Pending {
            s3: s3.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id,
            parts: Vec::new(),
            on_signal: None,
        };
        let abort_later = Pending {
            s3: s3.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id: pending.upload_id.clone(),
            parts: Vec::new(),
            on_signal: None,
        };
        pending.on_signal = Some(cancel.defer(Box::pin(async move {
            send_abort(&abort_later).await;
        })));
        Ok(pending)
    }
}

/// Runs the part uploads (or copies) of `parts` until all are done or one fails, and
/// returns the parts in order, or the first failure (the parts still in flight are
/// dropped). `on_done(n)` hears each time that `n` parts are done.
pub async fn collect_parts(
    parts: impl Stream<Item = Result<CompletedPart, RegionError>>,
    mut on_done: impl FnMut(usize),
) -> Result<Vec<CompletedPart>, RegionError> {
    let mut parts = std::pin::pin!(parts);
    let mut done = Vec::new();
    while let Some(part) = parts.next().await {
        done.push(part?);
        on_done(done.len());
    }
    done.sort_by_key(|p| p.part_number);
    Ok(done)
}

/// Starts a multipart upload and uploads every part (at most `in_flight` at once, see
/// [`parts_in_flight`]). On failure the upload is aborted.
pub async fn upload_parts(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    artifact: Artifact<'_>,
    progress: &ProgressLine,
    in_flight: usize,
    cancel: &Cancel,
) -> Result<Pending, RegionError> {
    let d = artifact.digest;
    let mut pending = Pending::start(
        s3,
        bucket,
        artifact.key,
        &d.hex(),
        Some(ChecksumAlgorithm::Sha256),
        "upload",
        cancel,
    )
    .await?;
    let total = d.parts.len();
    let uploads = futures_util::stream::iter(0..total)
        .map(|i| upload_part(&pending, artifact, i))
        .buffer_unordered(in_flight.max(1));
    let uploaded = collect_parts(uploads, |n| {
        // About ten updates per upload: plain (CI) output gets a line per update.
        if n == total || n * 10 / total != (n - 1) * 10 / total {
            progress.set(format!("uploaded {n}/{total} parts"));
        }
    })
    .await;
    match uploaded {
        Ok(parts) => {
            pending.parts = parts;
            Ok(pending)
        }
        Err(e) => {
            abort(&pending).await;
            Err(e)
        }
    }
}

async fn upload_part(
    pending: &Pending,
    artifact: Artifact<'_>,
    index: usize,
) -> Result<CompletedPart, RegionError> {
    let d = artifact.digest;
    let (offset, len) = d.part_range(index);
    let number = index as i32 + 1;
    let checksum = d.part_base64(index);
    let sent = Sent::default();
    let body = sent::hashed_file_range(artifact.path, offset, len, &sent).await?;
    let out = pending
        .s3
        .upload_part()
        .bucket(&pending.bucket)
        .key(&pending.key)
        .upload_id(&pending.upload_id)
        .part_number(number)
        .body(body)
        .content_length(len as i64)
        .checksum_sha256(&checksum)
        .send()
        .await
        .classify("s3:UploadPart", &pending.s3)
        .map_err(RegionError::doing(format!(
            "uploading part {number} of {}",
            pending.key
        )))?;
    // Before CompleteMultipartUpload can make them visible: the part's bytes are the ones
    // hashed in the first pass (the upload is aborted otherwise).
    sent::check_sent(
        artifact.path,
        &format!("part {number}"),
        &sent,
        &d.parts[index],
    )?;
    Ok(CompletedPart::builder()
        .part_number(number)
        .set_e_tag(out.e_tag)
        .checksum_sha256(checksum)
        .build())
}

/// Makes the upload visible, unless the key exists (then the upload is aborted; so it is
/// when the completion fails). `activity` ("upload", "copy") names the upload in errors.
pub async fn complete(pending: &Pending, activity: &str) -> Result<Committed, RegionError> {
    let res = pending
        .s3
        .complete_multipart_upload()
        .bucket(&pending.bucket)
        .key(&pending.key)
        .upload_id(&pending.upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(pending.parts.clone()))
                .build(),
        )
        .if_none_match("*")
        .send()
        .await
        .classify("s3:CompleteMultipartUpload", &pending.s3);
    let committed = Committed::of(res, || {
        format!("completing the {activity} of {}", pending.key)
    });
    if committed != Ok(Committed::Written) {
        abort(pending).await;
    } else if let Some(d) = &pending.on_signal {
        d.done();
    }
    committed
}

/// Aborts a multipart upload (best effort: the lifecycle rule is the safety net).
pub async fn abort(pending: &Pending) {
    send_abort(pending).await;
    if let Some(d) = &pending.on_signal {
        d.done();
    }
}

async fn send_abort(pending: &Pending) {
    if let Err(e) = pending
        .s3
        .abort_multipart_upload()
        .bucket(&pending.bucket)
        .key(&pending.key)
        .upload_id(&pending.upload_id)
        .send()
        .await
        .classify("s3:AbortMultipartUpload", &pending.s3)
    {
        tracing::warn!(
            "could not abort the multipart upload of {} in {}: {e}",
            pending.key,
            pending.bucket,
        );
    }
}
