//! The metadata object (`<artifact key>/metadata`): read, create without overwriting, and
//! read-modify-write guarded by the ETag, so that two writers never lose each other's keys.

use super::RegionError;
use crate::aws::{ErrorKind, SdkResultExt};
use crate::startifact::layout::{Metadata, metadata_key, value_text};
use crate::startifact::pyjson;
use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;

/// Metadata documents are a few hundred bytes; a huge one is refused rather than loaded.
const MAX_METADATA_BYTES: i64 = 1024 * 1024;

/// A metadata document as found in a bucket.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub doc: Metadata,
    /// For a conditional rewrite.
    pub etag: Option<String>,
}

/// Reads the metadata of the artifact at `artifact_key`; `None` when there is none.
pub async fn get(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    artifact_key: &str,
) -> Result<Option<Fetched>, RegionError> {
    let key = metadata_key(artifact_key);
    let out = match s3
        .get_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .classify("s3:GetObject", s3)
    {
        Ok(out) => out,
        Err(e) if e.code() == Some("NoSuchBucket") => {
            return Err(RegionError::not_found(e, bucket, artifact_key));
        }
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(RegionError::doing(format!("reading {key}"))(e)),
    };
    if out.content_length.unwrap_or(0) > MAX_METADATA_BYTES {
        return Err(RegionError::Content(format!(
            "{key} is {} bytes; a metadata document is read only up to {MAX_METADATA_BYTES}",
            out.content_length.unwrap_or(0)
        )));
    }
    let etag = out.e_tag.clone();
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| RegionError::Transfer(format!("reading {key}: {e}")))?
        .into_bytes();
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| RegionError::Content(format!("{key} is not UTF-8 text")))?;
    let doc = crate::startifact::document::parse_object(text)
        .map_err(|e| RegionError::Content(format!("{key} {e}")))?;
    Ok(Some(Fetched { doc, etag }))
}

/// How a write is guarded.
pub enum Guard<'a> {
    /// Only if there is no metadata object yet.
    Absent,
    /// Only if the object is still the one read (its ETag).
    Unchanged(&'a str),
}

/// Writes the document in Python's formatting. `Ok(false)`: the guard did not hold.
pub async fn put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    artifact_key: &str,
    doc: &Metadata,
    guard: Guard<'_>,
) -> Result<bool, RegionError> {
    let key = metadata_key(artifact_key);
    let text = pyjson::dumps(&Value::Object(doc.clone()));
    let mut req = s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .body(ByteStream::from(text.into_bytes()));
    req = match guard {
        Guard::Absent => req.if_none_match("*"),
        Guard::Unchanged(etag) => req.if_match(etag),
    };
    match req.send().await.classify("s3:PutObject", s3) {
        Ok(_) => Ok(true),
        Err(e) if e.kind == ErrorKind::Conflict => Ok(false),
        Err(e) => Err(RegionError::doing(format!("writing {key}"))(e)),
    }
}

/// What staging did to a region's metadata object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MetadataOutcome {
    /// Written now.
    Written,
    /// Already there with these values (a resumed stage).
    Present,
    /// Already there without some of these keys; they were added.
    Merged,
}

/// Writes the metadata of a just-staged (or resumed) artifact. An existing document must
/// agree on every key given here; keys it lacks are added, keys only it has are kept.
pub async fn stage(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    artifact_key: &str,
    doc: &Metadata,
) -> Result<MetadataOutcome, RegionError> {
    if put(s3, bucket, artifact_key, doc, Guard::Absent).await? {
        return Ok(MetadataOutcome::Written);
    }
    // Someone wrote it first: a previous run of this stage, or `provision metadata`.
    for _ in 0..3 {
        let Some(existing) = get(s3, bucket, artifact_key).await? else {
            if put(s3, bucket, artifact_key, doc, Guard::Absent).await? {
                return Ok(MetadataOutcome::Written);
            }
            continue;
        };
        let mut merged = existing.doc.clone();
        let mut missing = false;
        for (k, v) in doc {
            match existing.doc.get(k) {
                Some(found) if found == v => {}
                Some(found) => {
                    return Err(RegionError::Content(format!(
                        "{} already has `{k}` = \"{}\", not \"{}\"",
                        metadata_key(artifact_key),
                        value_text(found),
                        value_text(v)
                    )));
                }
                None => {
                    missing = true;
                    merged.insert(k.clone(), v.clone());
                }
            }
        }
        if !missing {
            return Ok(MetadataOutcome::Present);
        }
        let guard = match &existing.etag {
            Some(etag) => Guard::Unchanged(etag),
            None => {
                return Err(RegionError::Content(format!(
                    "{} has no ETag",
                    metadata_key(artifact_key)
                )));
            }
        };
        if put(s3, bucket, artifact_key, &merged, guard).await? {
            return Ok(MetadataOutcome::Merged);
        }
    }
    Err(RegionError::Content(format!(
        "{} kept changing while it was written; run again",
        metadata_key(artifact_key)
    )))
}
