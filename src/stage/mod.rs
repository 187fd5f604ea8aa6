//! The artifact data path, in Startifact 1.0's storage layout: `stage`, `download`, `info`,
//! `list`, `metadata` and `presign`.
//!
//! The names, keys and documents themselves are [`crate::startifact`]'s.
//! - [`resolve`]: regions, organisation configuration and buckets, without a config file.
//! - [`digest`]: the one pass over the file (SHA-256 of the whole and of each part).
//! - [`upload`]: one region's artifact upload: single PUT or streaming multipart, no overwrite.
//! - [`meta`]: the metadata object (create without overwrite, guarded read-modify-write).
//! - [`stage_flow`]: `stage` across regions (checks, uploads, metadata, `latest`); [`claim`]:
//!   the claim order, committing in it, and when to copy.
//! - [`stage_cmd`]: `stage`'s inputs and per-region report.
//! - [`copy`]: the server-side copy mode of `stage`.
//! - [`download`]: `download` with failover and verification; [`destination`]: where it goes.
//! - [`versions`]: the version a command works on (`latest` resolved).
//! - [`query`]: `info`, `list`; [`metadata_cmd`]: `metadata`; [`presign`]: `presign`.

pub mod check;
pub mod checksums;
pub mod claim;
pub mod copy;
pub mod destination;
pub mod digest;
pub mod distribute;
pub mod download;
#[cfg(test)]
mod fault_tests;
pub mod finish;
pub mod meta;
pub mod metadata_cmd;
#[cfg(test)]
mod mock_tests;
pub mod presign;
pub mod query;
pub mod resolve;
pub mod sent;
pub mod stage_cmd;
pub mod stage_flow;
pub mod stage_report;
pub mod upload;
pub mod versions;

use crate::aws::AwsError;
use crate::exit::{Classify, Exit};

pub use download::cmd_download;
pub use query::{cmd_info, cmd_list, cmd_metadata, cmd_presign};
pub use stage_cmd::cmd_stage;

/// Why a staging command stopped as a whole. Failures of single regions are reported per
/// region and end the command with exit 1 without an error of this type.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// A project, version, key, file name or duration that breaks a rule.
    #[error("{0}")]
    Input(String),
    #[error(
        "no region to read the organisation configuration from: pass --region, set AWS_REGION or STARTIFACT_REGIONS, or run where provision.yaml is (or pass -f FILE)"
    )]
    NoBootstrapRegion,
    #[error(
        "cannot read the organisation configuration {parameter} in any region:{}",
        list(failures)
    )]
    NoConfiguration {
        parameter: String,
        failures: Vec<(String, RegionError)>,
    },
    #[error("{what}{}", list(regions))]
    Conflict {
        what: String,
        regions: Vec<(String, String)>,
    },
    #[error("{0}")]
    Integrity(Box<IntegrityError>),
    #[error("{what}:{}", list(failures))]
    Unavailable {
        what: String,
        failures: Vec<(String, RegionError)>,
    },
    #[error("refusing the staged file name of {key} (from {region}): {reason}")]
    UnsafeFilename {
        region: String,
        key: String,
        reason: String,
    },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Output(#[from] crate::ui::OutputError),
    /// A local file or the machine failed us (a temporary file, the hashing thread).
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl StageError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StageError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Why one region's part of a staging command failed. The command goes on in the other
/// regions (a read fails over to the next one); the failure is reported with the region.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    /// An AWS request failed; `doing` says what for (`reading app@1.0.0/metadata`).
    #[error("{doing}: {source}")]
    Aws {
        doing: String,
        #[source]
        source: AwsError,
    },
    /// An AWS request failed, and its error says all there is to say.
    #[error(transparent)]
    Request(AwsError),
    /// Something the command needs does not exist there (a parameter, an object).
    #[error("{0}")]
    Missing(String),
    /// What the region holds cannot be used as it is (an empty parameter, a document that is
    /// not JSON, metadata that disagrees, a write that kept losing to others).
    #[error("{0}")]
    Content(String),
    /// Another artifact is staged under this version there.
    #[error("already staged with different content: {0}")]
    Conflict(String),
    /// A response body broke off, stalled or came short.
    #[error("{0}")]
    Transfer(String),
    /// The local file could not be read.
    #[error("{0}")]
    File(String),
}

impl RegionError {
    /// Wraps an AWS error with what the request was for: `.map_err(RegionError::doing("..."))`.
    pub fn doing(doing: impl Into<String>) -> impl FnOnce(AwsError) -> RegionError {
        let doing = doing.into();
        move |source| RegionError::Aws { doing, source }
    }

    /// An object request that found nothing: the bucket itself is gone (`NoSuchBucket`), or
    /// the object is not there.
    pub fn not_found(e: AwsError, bucket: &str, key: &str) -> RegionError {
        if e.code() == Some("NoSuchBucket") {
            RegionError::Missing(format!(
                "bucket {bucket} does not exist (NoSuchBucket): it was deleted, or the bucket-name parameter names another"
            ))
        } else {
            RegionError::Missing(format!("s3://{bucket}/{key} does not exist"))
        }
    }

    /// The AWS error behind this failure, if any.
    pub fn aws(&self) -> Option<&AwsError> {
        match self {
            RegionError::Aws { source, .. } | RegionError::Request(source) => Some(source),
            _ => None,
        }
    }
}

impl From<RegionError> for crate::runner::Failure {
    /// The error's text, classified when AWS answered.
    fn from(e: RegionError) -> Self {
        let kind = e.aws().map(|a| a.kind);
        crate::runner::Failure::new(e).with_kind(kind)
    }
}

/// Downloaded bytes that do not match what was staged.
#[derive(Debug, thiserror::Error)]
#[error(
    "integrity check failed for s3://{bucket}/{key} in {region}: the bytes received have {algorithm} {actual}, the staged artifact has {expected}; nothing was written"
)]
pub struct IntegrityError {
    pub region: String,
    pub bucket: String,
    pub key: String,
    /// `SHA-256`, or S3's checksum (`CRC32 (S3 checksum)`).
    pub algorithm: String,
    pub expected: String,
    pub actual: String,
}

fn list(items: &[(String, impl std::fmt::Display)]) -> String {
    items
        .iter()
        .map(|(region, why)| format!("\n  {region}: {why}"))
        .collect()
}

impl Classify for StageError {
    fn exit(&self) -> Exit {
        match self {
            StageError::Input(_) | StageError::NoBootstrapRegion => Exit::Invalid,
            StageError::Config(e) => e.exit(),
            StageError::Output(e) => e.exit(),
            _ => Exit::Failure,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            // Only when a region said the parameter is absent (not when none answered).
            StageError::NoConfiguration { failures, .. }
                if failures
                    .iter()
                    .any(|(_, e)| matches!(e, RegionError::Missing(_))) =>
            {
                Some(
                "run `provision setup -f provision.yaml` to write it; set STARTIFACT_PARAMETER if your organisation uses another name"
                    .into(),
                )
            }
            StageError::Conflict { .. } => Some(
                "a staged version is immutable: stage a new version, or add metadata with `provision metadata`"
                    .into(),
            ),
            StageError::Integrity { .. } => Some(
                "the object was changed after staging; restage under a new version and investigate who wrote it"
                    .into(),
            ),
            StageError::Config(e) => e.hint(),
            _ => None,
        }
    }

    fn failures(&self) -> Vec<(String, String)> {
        let text = |v: &[(String, RegionError)]| {
            v.iter()
                .map(|(r, e)| (r.clone(), e.to_string()))
                .collect::<Vec<_>>()
        };
        match self {
            StageError::Unavailable { failures, .. }
            | StageError::NoConfiguration { failures, .. } => text(failures),
            StageError::Conflict { regions, .. } => regions.clone(),
            _ => Vec::new(),
        }
    }
}
