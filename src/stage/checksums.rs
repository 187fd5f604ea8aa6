//! S3's own object checksums, used when an artifact has no SHA-256 in its metadata
//! (staged by Startifact, whose boto3 sends a CRC32 with every `PutObject`).
//!
//! Only full-object checksums can be checked against the bytes. A multipart upload's
//! checksum is a checksum of part checksums: S3 marks it `COMPOSITE` (and suffixes `-N`),
//! and the ETag of such an object has a `-N` suffix too; emulators that omit both marks are
//! recognised by the ETag.

use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::types::ChecksumType;

/// A full-object checksum S3 holds for an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullChecksum {
    /// `crc32`, `crc32c`, `crc64nvme`, `sha1` or `sha256` (aws-smithy-checksums' names).
    pub algorithm: &'static str,
    /// Base64, as S3 sends it.
    pub value: String,
}

/// The strongest full-object checksum in a HEAD response, if any.
pub fn full_object(head: &HeadObjectOutput) -> Option<FullChecksum> {
    let composite = match head.checksum_type() {
        Some(ChecksumType::FullObject) => false,
        Some(_) => true,
        None => head.e_tag().is_some_and(|e| e.contains('-')),
    };
    if composite {
        return None;
    }
    let candidates = [
        ("sha256", head.checksum_sha256()),
        ("crc64nvme", head.checksum_crc64_nvme()),
        ("crc32c", head.checksum_crc32_c()),
        ("crc32", head.checksum_crc32()),
        ("sha1", head.checksum_sha1()),
    ];
    candidates
        .into_iter()
        .find_map(|(algorithm, v)| v.filter(|v| !v.contains('-')).map(|v| (algorithm, v)))
        .map(|(algorithm, v)| FullChecksum {
            algorithm,
            value: v.to_string(),
        })
}

/// A running computation of one of S3's checksums.
pub struct Running {
    pub expected: FullChecksum,
    inner: Box<dyn aws_smithy_checksums::http::HttpChecksum>,
}

impl Running {
    pub fn new(expected: FullChecksum) -> Option<Running> {
        let algo: aws_smithy_checksums::ChecksumAlgorithm = expected.algorithm.parse().ok()?;
        Some(Running {
            expected,
            inner: algo.into_impl(),
        })
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.inner.update(bytes);
    }

    /// The computed value (base64) and whether it matches.
    pub fn finish(self) -> (String, bool) {
        let got = aws_smithy_types::base64::encode(self.inner.finalize());
        let ok = got == self.expected.value;
        (got, ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_checksums_are_not_full_object() {
        let head = HeadObjectOutput::builder()
            .e_tag("\"abc-2\"")
            .checksum_sha256("zTBnwsNWVkdz0PwZObp0pDCxhYpP8sndExucneRKiO0=")
            .build();
        assert_eq!(full_object(&head), None);
        let head = HeadObjectOutput::builder()
            .e_tag("\"abc-2\"")
            .checksum_type(ChecksumType::FullObject)
            .checksum_crc32("NhCmhg==")
            .build();
        assert_eq!(full_object(&head).unwrap().algorithm, "crc32");
    }

    #[test]
    fn crc32_of_hello_matches_what_s3_reports() {
        // moto reported ChecksumCRC32 "NhCmhg==" for the body "hello" (boto3's default).
        let head = HeadObjectOutput::builder()
            .e_tag("\"5d41402abc4b2a76b9719d911017c592\"")
            .checksum_crc32("NhCmhg==")
            .build();
        let mut r = Running::new(full_object(&head).unwrap()).unwrap();
        r.update(b"hel");
        r.update(b"lo");
        assert_eq!(r.finish(), ("NhCmhg==".to_string(), true));
    }
}
