//! One pass over the artifact file: its SHA-256, and the SHA-256 of each multipart part.
//!
//! The whole-file digest goes into the metadata (checked on download). The part digests go
//! with each `UploadPart` (`x-amz-checksum-sha256`), and the whole-file digest with a single
//! `PutObject`: S3 refuses bytes that differ from what was hashed, so a file that changes
//! between hashing and uploading cannot be staged under the wrong digest. We do not rely on
//! S3 alone: the bytes sent are hashed again and compared before the commit ([`super::sent`]).
//! Memory stays at a few read buffers whatever the file's size.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const MIB: u64 = 1024 * 1024;
/// Files larger than this are uploaded in parts.
pub const MULTIPART_THRESHOLD: u64 = 16 * MIB;
/// Smallest part size (S3's minimum is 5 MiB); grows for files over 80 GB to stay within
/// S3's 10,000 parts.
pub const MIN_PART_SIZE: u64 = 8 * MIB;
/// S3's limit on parts per upload.
pub const MAX_PARTS: u64 = 10_000;
/// S3's limit on an object's size.
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * MIB;
const READ_BUFFER: usize = MIB as usize;

/// The part size for a file of `size` bytes, or `None` for a single `PutObject`.
pub fn part_size_for(size: u64) -> Option<u64> {
    if size <= MULTIPART_THRESHOLD {
        return None;
    }
    let for_count = size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
    Some(for_count.max(MIN_PART_SIZE))
}

/// The digests of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    pub size: u64,
    pub sha256: [u8; 32],
    /// `None`: single `PutObject`.
    pub part_size: Option<u64>,
    /// SHA-256 of each part, in order (empty for a single `PutObject`).
    pub parts: Vec<[u8; 32]>,
}

impl FileDigest {
    pub fn hex(&self) -> String {
        hex::encode(self.sha256)
    }

    /// The whole-file digest as S3 checksum headers carry it (base64).
    pub fn base64(&self) -> String {
        aws_smithy_types::base64::encode(self.sha256)
    }

    /// Offset and length of part `index` (0-based).
    pub fn part_range(&self, index: usize) -> (u64, u64) {
        let part = self.part_size.unwrap_or(self.size.max(1));
        let offset = part * index as u64;
        (offset, part.min(self.size - offset))
    }

    pub fn part_base64(&self, index: usize) -> String {
        aws_smithy_types::base64::encode(self.parts[index])
    }
}

/// Hashes `path` (blocking: run it on a blocking thread). `expected_size` is the size the
/// upload plan was made for; a file that grows or shrinks meanwhile is an error. Setting
/// `cancel` stops the work early (the command failed for another reason).
///
/// A multipart file's part digests are computed on a second thread from the very buffers
/// the whole-file digest reads (one read of the file, so both describe the same bytes even
/// if the file changes meanwhile): two SHA-256 passes over every byte take half the time on
/// two cores (100 MiB: about 115 ms on one core, release build with SHA extensions).
pub fn digest_file(
    path: &Path,
    expected_size: u64,
    cancel: &AtomicBool,
) -> std::io::Result<FileDigest> {
    let part_size = part_size_for(expected_size);
    let mut file = std::fs::File::open(path)?;
    let (sha256, total, parts) = match part_size {
        None => {
            let (sha256, total) = read_and_hash(&mut file, cancel, |_| true)?;
            (sha256, total, Vec::new())
        }
        Some(size) => std::thread::scope(|scope| {
            // Two buffers queued at most: memory stays at a few read buffers.
            let (tx, rx) = std::sync::mpsc::sync_channel::<Arc<Vec<u8>>>(2);
            let parts = scope.spawn(move || part_digests(rx, size));
            // A send fails only when the part thread is gone, which it never leaves early.
            let read = read_and_hash(&mut file, cancel, |chunk| tx.send(chunk).is_ok());
            drop(tx);
            let parts = parts
                .join()
                .map_err(|_| std::io::Error::other("the part hashing thread panicked"))?;
            read.map(|(sha256, total)| (sha256, total, parts))
        })?,
    };
    if total != expected_size {
        return Err(std::io::Error::other(format!(
            "the file changed while it was read ({expected_size} bytes before, {total} now)"
        )));
    }
    Ok(FileDigest {
        size: total,
        sha256,
        part_size,
        parts,
    })
}

/// Reads `file` to its end, hashing every byte, and hands each chunk read to `also`
/// (`false`: stop). Returns the SHA-256 and the byte count.
fn read_and_hash(
    file: &mut std::fs::File,
    cancel: &AtomicBool,
    mut also: impl FnMut(Arc<Vec<u8>>) -> bool,
) -> std::io::Result<([u8; 32], u64)> {
    use sha2::{Digest, Sha256};
    let mut whole = Sha256::new();
    let mut total: u64 = 0;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("cancelled"));
        }
        // A fresh buffer per chunk (the part thread may still hold the last ones), filled
        // without zeroing it first.
        let mut buf = Vec::with_capacity(READ_BUFFER);
        let n = (&mut *file)
            .take(READ_BUFFER as u64)
            .read_to_end(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = Arc::new(buf);
        if !also(chunk.clone()) {
            return Err(std::io::Error::other("the part hashing thread stopped"));
        }
        whole.update(chunk.as_slice());
        total += n as u64;
    }
    Ok((whole.finalize().into(), total))
}

/// The SHA-256 of each `part_size` slice of the chunks received, in order.
fn part_digests(chunks: std::sync::mpsc::Receiver<Arc<Vec<u8>>>, part_size: u64) -> Vec<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let mut part = Sha256::new();
    let mut parts = Vec::new();
    let mut in_part: u64 = 0;
    for chunk in chunks {
        let mut rest = chunk.as_slice();
        while !rest.is_empty() {
            let take = ((part_size - in_part) as usize).min(rest.len());
            part.update(&rest[..take]);
            in_part += take as u64;
            rest = &rest[take..];
            if in_part == part_size {
                parts.push(part.finalize_reset().into());
                in_part = 0;
            }
        }
    }
    if in_part > 0 {
        parts.push(part.finalize().into());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::io::Write;

    #[test]
    fn small_files_are_one_put() {
        assert_eq!(part_size_for(0), None);
        assert_eq!(part_size_for(MULTIPART_THRESHOLD), None);
        assert_eq!(part_size_for(MULTIPART_THRESHOLD + 1), Some(MIN_PART_SIZE));
    }

    #[test]
    fn part_size_grows_to_stay_within_ten_thousand_parts() {
        let size = MAX_OBJECT_SIZE;
        let part = part_size_for(size).unwrap();
        assert!(size.div_ceil(part) <= MAX_PARTS);
        assert_eq!(part % MIB, 0);
        assert!(part <= 5 * 1024 * MIB, "a part may be at most 5 GiB");
    }

    #[test]
    fn parts_hash_to_the_file_slices() {
        let size = MULTIPART_THRESHOLD + 3 * MIB + 17;
        let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&data).unwrap();
        let d = digest_file(f.path(), size, &AtomicBool::new(false)).unwrap();
        assert_eq!(d.sha256, <[u8; 32]>::from(Sha256::digest(&data)));
        assert_eq!(d.parts.len(), 3);
        for (i, h) in d.parts.iter().enumerate() {
            let (off, len) = d.part_range(i);
            let slice = &data[off as usize..(off + len) as usize];
            assert_eq!(*h, <[u8; 32]>::from(Sha256::digest(slice)), "part {i}");
        }
        assert_eq!(d.part_range(2).1, size - 2 * MIN_PART_SIZE);
    }

    #[test]
    fn a_file_of_another_size_than_planned_is_an_error() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"abc").unwrap();
        assert!(digest_file(f.path(), 4, &AtomicBool::new(false)).is_err());
        let d = digest_file(f.path(), 3, &AtomicBool::new(false)).unwrap();
        assert_eq!(d.hex(), hex::encode(Sha256::digest(b"abc")));
        assert_eq!(d.part_range(0), (0, 3));
    }
}
