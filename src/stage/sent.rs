//! The second line of defence against a file that changes while it is staged: the SHA-256 of
//! the bytes a request body really delivered, compared with the first pass
//! ([`super::digest`]) before anything becomes visible.
//!
//! S3 checks each part's `x-amz-checksum-sha256` itself, but an emulator or a proxy may not,
//! and bytes overwritten in place between the hashing pass and the upload would otherwise
//! become an object that does not match the SHA-256 its metadata records. A part's body is
//! hashed as it is sent ([`hashed_file_range`]); a single `PutObject` is read into memory,
//! hashed and compared before it is sent ([`read_checked`]), since its write is the commit.

use super::RegionError;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

/// The SHA-256 of what the last attempt of a request sent, once its body was sent in full.
#[derive(Debug, Clone, Default)]
pub struct Sent(Arc<Mutex<Option<[u8; 32]>>>);

impl Sent {
    /// The digest of the bytes sent, `None` if no attempt sent the whole body.
    pub fn digest(&self) -> Option<[u8; 32]> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, digest: Option<[u8; 32]>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = digest;
    }
}

/// A body that hashes the bytes it hands to the HTTP client.
struct Hashing {
    inner: SdkBody,
    sha: Sha256,
    len: u64,
    seen: u64,
    sent: Sent,
}

impl Hashing {
    fn finish(&mut self) {
        let digest = self.sha.clone().finalize().into();
        self.sent.record((self.seen == self.len).then_some(digest));
    }
}

impl http_body::Body for Hashing {
    type Data = Bytes;
    type Error = aws_smithy_types::body::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        match &frame {
            Some(Ok(f)) => {
                if let Some(data) = f.data_ref() {
                    this.sha.update(data);
                    this.seen += data.len() as u64;
                    // The client may stop polling once the announced length is sent.
                    if this.seen == this.len {
                        this.finish();
                    }
                }
            }
            None => this.finish(),
            Some(Err(_)) => {}
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::Body::size_hint(&self.inner)
    }
}

/// `len` bytes of the file from `offset`, streamed (nothing is buffered) through a hasher
/// whose result `sent` holds once a request attempt has sent them all. Retryable: each
/// attempt reads the file again and hashes afresh.
pub async fn hashed_file_range(
    path: &Path,
    offset: u64,
    len: u64,
    sent: &Sent,
) -> Result<ByteStream, RegionError> {
    let file = ByteStream::read_from()
        .path(path)
        .offset(offset)
        .length(aws_smithy_types::byte_stream::Length::Exact(len))
        .build()
        .await
        .map_err(|e| RegionError::File(format!("reading {}: {e}", path.display())))?
        .into_inner();
    let sent = sent.clone();
    let body = SdkBody::retryable(move || {
        let inner = file.try_clone().unwrap_or_else(SdkBody::taken);
        SdkBody::from_body_1_x(Hashing {
            inner,
            sha: Sha256::new(),
            len,
            seen: 0,
            sent: sent.clone(),
        })
    });
    Ok(ByteStream::new(body))
}

/// Whether what was sent is what the first pass hashed; the error names the file and `what`
/// (`part 3`).
pub fn check_sent(
    path: &Path,
    what: &str,
    sent: &Sent,
    hashed: &[u8; 32],
) -> Result<(), RegionError> {
    match sent.digest() {
        Some(d) if d == *hashed => Ok(()),
        Some(d) => Err(changed(path, what, hashed, &d)),
        None => Err(RegionError::File(format!(
            "{}: {what} was not sent in full",
            path.display()
        ))),
    }
}

/// The whole file (a single `PutObject`, at most the multipart threshold), read and checked
/// against the first pass's digest before anything is sent.
pub async fn read_checked(path: &Path, size: u64, hashed: &[u8; 32]) -> Result<Bytes, RegionError> {
    let data = tokio::fs::read(path)
        .await
        .map_err(|e| RegionError::File(format!("reading {}: {e}", path.display())))?;
    let digest: [u8; 32] = Sha256::digest(&data).into();
    if data.len() as u64 != size || digest != *hashed {
        return Err(changed(path, "its content", hashed, &digest));
    }
    Ok(Bytes::from(data))
}

fn changed(path: &Path, what: &str, hashed: &[u8; 32], sent: &[u8; 32]) -> RegionError {
    RegionError::File(format!(
        "{} changed while it was being staged: the SHA-256 of {what} was {} when hashed and is {} as sent; nothing was made visible (stage it again once it no longer changes)",
        path.display(),
        hex::encode(hashed),
        hex::encode(sent)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_bytes_sent_are_hashed_and_a_change_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let hashed: [u8; 32] = Sha256::digest(b"2345").into();

        let sent = Sent::default();
        let body = hashed_file_range(&path, 2, 4, &sent).await.unwrap();
        let bytes = body.collect().await.unwrap().into_bytes();
        assert_eq!(&bytes[..], b"2345");
        assert!(check_sent(&path, "part 1", &sent, &hashed).is_ok());

        // Overwritten in place after the first pass: the next send is refused.
        std::fs::write(&path, b"01XX456789").unwrap();
        let sent = Sent::default();
        let body = hashed_file_range(&path, 2, 4, &sent).await.unwrap();
        body.collect().await.unwrap();
        let e = check_sent(&path, "part 1", &sent, &hashed).unwrap_err();
        assert!(
            e.to_string().contains("changed while it was being staged"),
            "{e}"
        );

        // Nothing sent at all is not taken for a match.
        let e = check_sent(&path, "part 1", &Sent::default(), &hashed).unwrap_err();
        assert!(e.to_string().contains("not sent in full"), "{e}");

        let whole: [u8; 32] = Sha256::digest(b"0123456789").into();
        assert!(read_checked(&path, 10, &whole).await.is_err());
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(
            &read_checked(&path, 10, &whole).await.unwrap()[..],
            b"0123456789"
        );
    }
}
