//! `stage` across regions: check, upload in claim order, then metadata and `latest`. This
//! module holds what the three phases share; each phase is its own module
//! ([`super::check`], [`super::distribute`], [`super::finish`]).
//!
//! 1. Check every region concurrently (bucket name, existing object). Other bytes already
//!    staged: stop, nothing changed. The same bytes: that region is already staged (a rerun
//!    completes the rest). A small artifact's object is read in the claim region only: in
//!    the others the conditional `PutObject` is the check.
//! 2. Upload. Regions are committed in a fixed order ([`super::claim::claim_order`]: the
//!    organisation configuration's `regions` in their order, then any others sorted) until
//!    the first commit succeeds — the claim — and then all the others at once. Two stagers of
//!    one version with different bytes therefore meet in the same region first: the loser
//!    stops before it has written anything anywhere. Multipart parts are uploaded to every
//!    region concurrently before that; only the commits are ordered. With `--copy` (the
//!    default above [`super::claim::COPY_ABOVE`] to several regions, see
//!    [`super::claim::copy_pays`]) the claim region gets the upload — started during the
//!    check — and the others a server-side copy, falling back to a direct upload. A single
//!    `PutObject` without a copy is committed in the claim region as soon as that region's
//!    own check is in.
//! 3. Per region, once its artifact is in place: the metadata object (while `latest` is
//!    read), then `latest`, which only moves forward in semantic-version order unless
//!    `--force-latest`.

use super::RegionError;
use super::claim::Settled;
pub use super::claim::Upload;
use super::meta::MetadataOutcome;
use super::resolve::StagingTarget;
use super::upload::{self, Artifact, Existing, Pending};
use crate::cancel::Cancel;
use crate::startifact::layout::Metadata;
use crate::ui::ProgressLine;
use schemars::JsonSchema;
use semver::Version;
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;

/// What happened to `latest` in a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct LatestChange {
    pub previous: Option<String>,
    pub current: String,
    pub moved: bool,
}

/// What a stage's phases did in one region so far.
#[derive(Debug, Clone, Default)]
pub struct RegionStaging {
    pub bucket: Option<String>,
    /// What the check found; `Absent` also where it did not look ([`Job::inspects`]).
    pub existing: Option<Existing>,
    /// The round trip of the check's `HeadObject` when it found nothing (one exchange on a
    /// connection already open): it sets the parts in flight.
    pub rtt: Option<Duration>,
    pub upload: Option<Upload>,
    pub metadata: Option<MetadataOutcome>,
    pub latest: Option<LatestChange>,
    pub error: Option<RegionError>,
}

/// Everything one stage needs.
pub struct Job<'a> {
    pub target: &'a StagingTarget,
    pub artifact: Artifact<'a>,
    pub metadata: &'a Metadata,
    pub project: &'a str,
    pub version: &'a Version,
    pub force_latest: bool,
    pub copy: bool,
    /// Nothing is written: every region is inspected (see [`Job::inspects`]).
    pub dry_run: bool,
    /// Multipart uploads in flight register their abort with it (see [`crate::cancel`]).
    pub cancel: &'a Cancel,
    /// Regions in claim order.
    pub regions: Vec<String>,
    pub lines: HashMap<String, ProgressLine>,
}

/// What the claim region began during the check ([`Job::check`]), before the other regions'
/// checks were in.
pub struct HeadStart {
    pub region: String,
    pub begun: Begun,
}

pub enum Begun {
    /// A multipart upload that the other regions will copy: its parts, not visible until
    /// it is completed.
    Parts(Result<Pending, RegionError>),
    /// A single `PutObject` without a copy: the claim itself, already settled.
    Claim(Settled),
}

impl HeadStart {
    /// Aborts an upload in parts (the stage stopped, or the claim went elsewhere). A settled
    /// claim is not undone: it wrote this stage's bytes, which is what a rerun does too.
    pub async fn abandon(self) {
        if let Begun::Parts(Ok(p)) = self.begun {
            upload::abort(&p).await;
        }
    }
}

impl Job<'_> {
    pub(super) fn line(&self, region: &str) -> &ProgressLine {
        &self.lines[region]
    }
}

#[cfg(test)]
mod tests {
    use crate::stage::upload::parts_in_flight;
    use std::time::Duration;

    #[test]
    fn parts_in_flight_grow_with_the_round_trip() {
        let part = 8 << 20;
        let ms = |n| Some(Duration::from_millis(n));
        assert_eq!(parts_in_flight(None, part), 4);
        assert_eq!(parts_in_flight(ms(5), part), 4);
        assert_eq!(parts_in_flight(ms(80), part), 5);
        assert_eq!(parts_in_flight(ms(250), part), 14);
        assert_eq!(parts_in_flight(ms(2000), part), 16);
    }
}
