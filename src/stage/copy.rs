//! Server-side copy of a staged artifact to another region's bucket (`stage --copy`).
//!
//! Up to 5 GiB one `CopyObject`, larger objects a multipart copy (`UploadPartCopy` ranges,
//! then `CompleteMultipartUpload`); both with `If-None-Match: *`. The copy keeps the
//! source's user metadata, so it carries the same `x-amz-meta-sha256` as a direct upload.
//! (moto 5.2 ignores `If-None-Match` on `CopyObject`; a copy only ever follows this stage's
//! won claim, so a concurrent stager of other bytes has stopped before it could copy.)

use super::RegionError;
use super::upload::{Committed, Pending, abort, collect_parts, complete};
use crate::aws::SdkResultExt;
use crate::cancel::Cancel;
use aws_sdk_s3::types::CompletedPart;
use futures_util::StreamExt;

const MIB: u64 = 1024 * 1024;
/// The largest object one `CopyObject` copies.
const COPY_OBJECT_MAX: u64 = 5 * 1024 * MIB;
/// Smallest copy part; S3 allows up to 5 GiB per copied part.
const COPY_PART_SIZE: u64 = 512 * MIB;
const COPY_CONCURRENCY: usize = 4;

/// Where to copy from.
pub struct Source<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub size: u64,
    pub sha256_hex: &'a str,
}

/// `x-amz-copy-source`: `bucket/key`, URL-encoded (keys hold `@` and, with build metadata,
/// `+`, which S3 would otherwise read as a space).
pub fn copy_source(bucket: &str, key: &str) -> String {
    let mut out = String::with_capacity(bucket.len() + key.len() + 8);
    for b in format!("{bucket}/{key}").bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Byte ranges of the copy parts.
pub fn copy_ranges(size: u64) -> Vec<(u64, u64)> {
    let part = COPY_PART_SIZE.max(size.div_ceil(10_000).div_ceil(MIB) * MIB);
    (0..size.div_ceil(part))
        .map(|i| (i * part, ((i + 1) * part).min(size) - 1))
        .collect()
}

/// Copies `source` to `bucket` (in the region `s3` is for) under the same key.
pub async fn copy_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    source: &Source<'_>,
    cancel: &Cancel,
) -> Result<Committed, RegionError> {
    if source.size <= COPY_OBJECT_MAX {
        copy_whole(s3, bucket, source).await
    } else {
        copy_parts(s3, bucket, source, cancel).await
    }
}

async fn copy_whole(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    source: &Source<'_>,
) -> Result<Committed, RegionError> {
    let res = s3
        .copy_object()
        .bucket(bucket)
        .key(source.key)
        .copy_source(copy_source(source.bucket, source.key))
        .metadata_directive(aws_sdk_s3::types::MetadataDirective::Copy)
        .if_none_match("*")
        .send()
        .await
        .classify("s3:CopyObject", s3);
    Committed::of(res, || {
        format!("copying {} from {}", source.key, source.bucket)
    })
}

async fn copy_parts(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    source: &Source<'_>,
    cancel: &Cancel,
) -> Result<Committed, RegionError> {
    let mut pending = Pending::start(
        s3,
        bucket,
        source.key,
        source.sha256_hex,
        None,
        "copy",
        cancel,
    )
    .await?;
    let from = copy_source(source.bucket, source.key);
    let copying = format!("copying {} from {}", source.key, source.bucket);
    let copies = futures_util::stream::iter(copy_ranges(source.size).into_iter().enumerate())
        .map(|(i, (first, last))| {
            let req = pending
                .s3
                .upload_part_copy()
                .bucket(&pending.bucket)
                .key(&pending.key)
                .upload_id(&pending.upload_id)
                .part_number(i as i32 + 1)
                .copy_source(&from)
                .copy_source_range(format!("bytes={first}-{last}"));
            let (s3, copying) = (&pending.s3, &copying);
            async move {
                let out = req
                    .send()
                    .await
                    .classify("s3:UploadPartCopy", s3)
                    .map_err(RegionError::doing(copying.clone()))?;
                let etag = out.copy_part_result.and_then(|r| r.e_tag);
                Ok::<_, RegionError>(
                    CompletedPart::builder()
                        .part_number(i as i32 + 1)
                        .set_e_tag(etag)
                        .build(),
                )
            }
        })
        .buffer_unordered(COPY_CONCURRENCY);
    match collect_parts(copies, |_| {}).await {
        Ok(parts) => pending.parts = parts,
        Err(e) => {
            abort(&pending).await;
            return Err(e);
        }
    }
    complete(&pending, "copy").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_is_url_encoded() {
        assert_eq!(
            copy_source("bkt", "pre/My.App_x@1.2.3-rc.1+build.5"),
            "bkt/pre/My.App_x%401.2.3-rc.1%2Bbuild.5"
        );
    }

    #[test]
    fn copy_ranges_cover_the_object_exactly() {
        assert_eq!(copy_ranges(1), vec![(0, 0)]);
        assert_eq!(copy_ranges(COPY_PART_SIZE), vec![(0, COPY_PART_SIZE - 1)]);
        let r = copy_ranges(COPY_PART_SIZE * 2 + 5);
        assert_eq!(r.len(), 3);
        assert_eq!(r[2], (COPY_PART_SIZE * 2, COPY_PART_SIZE * 2 + 4));
        let huge = 5 * 1024 * 1024 * MIB;
        let r = copy_ranges(huge);
        assert!(r.len() <= 10_000);
        assert_eq!(r.last().unwrap().1, huge - 1);
    }
}
