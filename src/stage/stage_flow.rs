//! `stage` across regions: check, upload in claim order, then metadata and `latest`.
//!
//! 1. Check every region concurrently (bucket name, existing object). Other bytes already
//!    staged: stop, nothing changed. The same bytes: that region is already staged (a rerun
//!    completes the rest). A small artifact's object is read in the claim region only: in
//!    the others the conditional `PutObject` is the check ([`Job::inspects`]).
//! 2. Upload. Regions are committed in a fixed order ([`super::claim::claim_order`]: the
//!    organisation configuration's `regions` in their order, then any others sorted) until
//!    the first commit succeeds — the claim — and then all the others at once. Two stagers of
//!    one version with different bytes therefore meet in the same region first: the loser
//!    stops before it has written anything anywhere. Multipart parts are uploaded to every
//!    region concurrently before that; only the commits are ordered. With `--copy` (the
//!    default above [`super::claim::COPY_ABOVE`] to several regions, see
//!    [`super::claim::copy_pays`]) the claim region gets the upload — started during the
//!    check — and the others a server-side copy, falling back to a direct upload.
//! 3. Per region, once its artifact is in place: the metadata object (while `latest` is
//!    read), then `latest`, which only moves forward in semantic-version order unless
//!    `--force-latest`.

use super::RegionError;
pub use super::claim::Upload;
use super::claim::{Conflict, Settled, claim_then_rest, into_result};
use super::copy::{self, Source};
use super::meta::{self, MetadataOutcome};
use super::resolve::StagingTarget;
use super::upload::{self, Artifact, Committed, Existing, Pending};
use crate::aws::ssm::put_parameter;
use crate::cancel::Cancel;
use crate::runner;
use crate::startifact::layout::{Metadata, moves_forward};
use crate::ui::ProgressLine;
use semver::Version;
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;

/// What happened to `latest` in a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// The claim region's multipart upload, started during the check ([`Job::check`]): not
/// visible until it is completed.
pub struct HeadStart {
    pub region: String,
    pub parts: Result<Pending, RegionError>,
}

impl HeadStart {
    /// Aborts the upload (the stage stopped, or the claim went elsewhere).
    pub async fn abandon(self) {
        if let Ok(p) = self.parts {
            upload::abort(&p).await;
        }
    }
}

impl Job<'_> {
    fn line(&self, region: &str) -> &ProgressLine {
        &self.lines[region]
    }

    /// Phase 1: bucket and existing object in every region. With a copy, the claim region's
    /// multipart upload starts as soon as its own check found nothing, while the other
    /// regions are still being checked (proposal 3e): its parts stay invisible until
    /// `CompleteMultipartUpload`, which [`Job::upload`] sends only once every check is in.
    pub async fn check(&self) -> (HashMap<String, RegionStaging>, Option<HeadStart>) {
        let results =
            runner::for_each_region(&self.regions, self.regions.len(), |region| async move {
                let out = self.check_region(&region).await;
                let head_start = match (&out.bucket, &out.existing) {
                    (Some(bucket), Some(Existing::Absent)) if self.starts_early(&region) => {
                        let in_flight = upload::parts_in_flight(
                            out.rtt,
                            self.artifact.digest.part_size.unwrap_or(1),
                        );
                        self.line(&region).set("uploading parts");
                        let s3 = self.target.s3_write(&region);
                        let parts = upload::upload_parts(
                            &s3,
                            bucket,
                            self.artifact,
                            self.line(&region),
                            in_flight,
                            self.cancel,
                        )
                        .await;
                        Some(HeadStart {
                            region: region.clone(),
                            parts,
                        })
                    }
                    _ => None,
                };
                (out, head_start)
            })
            .await;
        let mut head_start = None;
        let mut states = HashMap::new();
        for (region, (out, head)) in results {
            head_start = head_start.or(head);
            states.insert(region, out);
        }
        (states, head_start)
    }

    async fn check_region(&self, region: &str) -> RegionStaging {
        self.line(region).set("checking");
        let mut out = RegionStaging::default();
        // `latest` is read here too, only to open a second connection while the first
        // is opened (their set-ups overlap): the finish then writes the metadata and
        // reads `latest` at once on two warm connections instead of paying a set-up
        // (a round trip, two with TLS) on the second. The finish reads it again.
        let (bucket, _) = futures_util::future::join(
            self.target.bucket(region),
            self.target.latest(region, self.project),
        )
        .await;
        match bucket {
            Err(e) => out.error = Some(e),
            Ok(bucket) if !self.inspects(region) => {
                // The conditional `PutObject` is this region's check (see `inspects`).
                out.existing = Some(Existing::Absent);
                out.bucket = Some(bucket);
            }
            Ok(bucket) => {
                let s3 = self.target.s3_read(region);
                let started = std::time::Instant::now();
                match upload::inspect(&s3, &bucket, self.artifact).await {
                    Ok(existing) => {
                        if existing == Existing::Absent {
                            out.rtt = Some(started.elapsed());
                        }
                        out.existing = Some(existing);
                    }
                    Err(e) => out.error = Some(e),
                }
                out.bucket = Some(bucket);
            }
        }
        out
    }

    /// Whether `region` gets its upload before the other regions' checks are in: the claim
    /// region (first in claim order) of a multipart upload that the others copy.
    fn starts_early(&self, region: &str) -> bool {
        !self.dry_run
            && self.copy
            && self.artifact.digest.part_size.is_some()
            && self.regions.first().map(String::as_str) == Some(region)
    }

    /// Whether the check reads `region`'s object (`HeadObject`) before anything is written.
    /// Every region is inspected for a dry run, in the claim region (the first in claim
    /// order), and wherever the artifact goes up as a multipart upload or a copy. Elsewhere —
    /// a small artifact's other regions — the conditional `PutObject` (`If-None-Match: *`)
    /// is the check, one round trip fewer on the farthest link: a refused write is inspected
    /// as after a lost race (the same bytes: already staged; other bytes: that region fails,
    /// naming them). The trade-off: other bytes in such a region, which only a writer
    /// outside `provision`'s claim can have put there, are found after the claim region was
    /// written, not before anything was. A multipart upload or a copy keeps the check: its
    /// round trip is small against the upload, a conflict found first costs no upload, and
    /// moto ignores `If-None-Match` on `CopyObject`.
    fn inspects(&self, region: &str) -> bool {
        self.dry_run
            || self.copy
            || self.artifact.digest.part_size.is_some()
            || self.regions.first().map(String::as_str) == Some(region)
    }

    /// Phase 2: uploads the artifact where it is absent. `Err` when other bytes won the
    /// claim: nothing was written by this run.
    pub async fn upload(
        &self,
        states: &mut HashMap<String, RegionStaging>,
        head_start: Option<HeadStart>,
    ) -> Result<(), Conflict> {
        let mut absent = Vec::new();
        let mut claimed = None;
        for region in &self.regions {
            let s = &states[region];
            match (&s.existing, &s.bucket) {
                (Some(Existing::Absent), Some(b)) => absent.push((region.clone(), b.clone())),
                (Some(Existing::Same), Some(b)) => {
                    claimed.get_or_insert((region.clone(), b.clone()));
                }
                _ => {}
            }
        }
        for s in states.values_mut() {
            if s.existing == Some(Existing::Same) {
                s.upload = Some(Upload::Present);
            }
        }
        if absent.is_empty() {
            if let Some(h) = head_start {
                h.abandon().await;
            }
            return Ok(());
        }
        let rtts: HashMap<String, Duration> = states
            .iter()
            .filter_map(|(r, s)| s.rtt.map(|rtt| (r.clone(), rtt)))
            .collect();
        let results = if self.copy {
            self.upload_copying(absent, claimed, &rtts, head_start)
                .await?
        } else if self.artifact.digest.part_size.is_none() {
            claim_then_rest(
                absent,
                claimed.is_some(),
                |r, b, claiming| self.direct_single(r, b, claiming),
                |_| async {},
            )
            .await?
        } else {
            let regions: Vec<String> = absent.iter().map(|(r, _)| r.clone()).collect();
            let buckets: HashMap<String, String> = absent.into_iter().collect();
            let uploaded = runner::for_each_region(&regions, regions.len(), |r| {
                let bucket = buckets[&r].clone();
                let in_flight = self.parts_in_flight(&rtts, &r);
                async move {
                    self.line(&r).set("uploading parts");
                    let s3 = self.target.s3_write(&r);
                    upload::upload_parts(
                        &s3,
                        &bucket,
                        self.artifact,
                        self.line(&r),
                        in_flight,
                        self.cancel,
                    )
                    .await
                }
            })
            .await;
            let mut pending = Vec::new();
            let mut results = Vec::new();
            for (r, p) in uploaded {
                match p {
                    Ok(p) => pending.push((r, p)),
                    Err(e) => results.push((r, Err(e))),
                }
            }
            let committed = claim_then_rest(
                pending,
                claimed.is_some(),
                |r, p, claiming| self.commit_multipart(r, p, claiming),
                |p: Pending| async move { upload::abort(&p).await },
            )
            .await?;
            results.extend(committed);
            results
        };
        for (region, result) in results {
            let s = states.entry(region).or_default();
            match result {
                Ok(u) => s.upload = Some(u),
                Err(e) => s.error = Some(e),
            }
        }
        Ok(())
    }

    async fn upload_copying(
        &self,
        absent: Vec<(String, String)>,
        claimed: Option<(String, String)>,
        rtts: &HashMap<String, Duration>,
        mut head_start: Option<HeadStart>,
    ) -> Result<Vec<(String, Result<Upload, RegionError>)>, Conflict> {
        let mut results = Vec::new();
        let mut rest = absent.into_iter();
        let source = match claimed {
            Some(src) => {
                // The claim was won earlier (a rerun): the head start's region gets a copy.
                if let Some(h) = head_start.take() {
                    h.abandon().await;
                }
                src
            }
            None => loop {
                let Some((r, b)) = rest.next() else {
                    return Ok(results);
                };
                let settled = match head_start.take() {
                    Some(h) if h.region == r => match h.parts {
                        Ok(p) => self.commit_multipart(r.clone(), p, true).await,
                        Err(e) => Settled::Failed(e),
                    },
                    other => {
                        if let Some(h) = other {
                            h.abandon().await;
                        }
                        self.direct(&r, &b, true, self.parts_in_flight(rtts, &r))
                            .await
                    }
                };
                match settled {
                    Settled::Done(u) => {
                        results.push((r.clone(), Ok(u)));
                        break (r, b);
                    }
                    Settled::Conflict(why) => return Err(Conflict(vec![(r, why)])),
                    Settled::Failed(e) => results.push((r, Err(e))),
                }
            },
        };
        let rest: Vec<(String, String)> = rest.collect();
        let src = Source {
            bucket: &source.1,
            key: self.artifact.key,
            size: self.artifact.digest.size,
            sha256_hex: &self.artifact.digest.hex(),
        };
        let src = &src;
        let source_region = source.0.as_str();
        let copies = futures_util::future::join_all(rest.into_iter().map(|(r, b)| async move {
            self.line(&r).set(format!("copying from {source_region}"));
            let s3 = self.target.s3_write(&r);
            let settled = match copy::copy_object(&s3, &b, src, self.cancel).await {
                Ok(Committed::Written) => Settled::Done(Upload::Copy),
                Ok(Committed::Preempted) => self.settle(&r, &b).await,
                Err(e) => {
                    tracing::warn!("{r}: server-side copy failed ({e}); uploading directly");
                    self.line(&r).set("copy failed; uploading directly");
                    self.direct(&r, &b, false, self.parts_in_flight(rtts, &r))
                        .await
                }
            };
            (r, into_result(settled))
        }))
        .await;
        results.extend(copies);
        Ok(results)
    }

    async fn direct_single(&self, region: String, bucket: String, claiming: bool) -> Settled {
        self.line(&region).set("uploading");
        let s3 = self.target.s3_write(&region);
        match upload::put_single(&s3, &bucket, self.artifact).await {
            Ok(Committed::Written) if claiming => self.confirm(&region, &bucket, Upload::Put).await,
            Ok(Committed::Written) => Settled::Done(Upload::Put),
            Ok(Committed::Preempted) => self.settle(&region, &bucket).await,
            Err(e) => Settled::Failed(e),
        }
    }

    async fn commit_multipart(&self, region: String, pending: Pending, claiming: bool) -> Settled {
        self.line(&region).set("completing the upload");
        match upload::complete(&pending, "upload").await {
            Ok(Committed::Written) if claiming => {
                self.confirm(&region, &pending.bucket, Upload::Multipart)
                    .await
            }
            Ok(Committed::Written) => Settled::Done(Upload::Multipart),
            Ok(Committed::Preempted) => self.settle(&region, &pending.bucket).await,
            Err(e) => Settled::Failed(e),
        }
    }

    /// Parts in flight to `region`, from its measured round trip.
    fn parts_in_flight(&self, rtts: &HashMap<String, Duration>, region: &str) -> usize {
        let part_size = self.artifact.digest.part_size.unwrap_or(1);
        upload::parts_in_flight(rtts.get(region).copied(), part_size)
    }

    /// A direct upload to one region, single or multipart, `in_flight` parts at once.
    async fn direct(
        &self,
        region: &str,
        bucket: &str,
        claiming: bool,
        in_flight: usize,
    ) -> Settled {
        if self.artifact.digest.part_size.is_none() {
            return self
                .direct_single(region.to_string(), bucket.to_string(), claiming)
                .await;
        }
        let s3 = self.target.s3_write(region);
        match upload::upload_parts(
            &s3,
            bucket,
            self.artifact,
            self.line(region),
            in_flight,
            self.cancel,
        )
        .await
        {
            Ok(p) => self.commit_multipart(region.to_string(), p, claiming).await,
            Err(e) => Settled::Failed(e),
        }
    }

    /// After the claim's write succeeded: is the object still ours? S3's conditional writes
    /// are atomic; some S3-compatible stores (moto 5.2) check and write in two steps, and
    /// two concurrent writers can both be told they won. Reading back makes the later
    /// writer the only winner there too.
    async fn confirm(&self, region: &str, bucket: &str, upload: Upload) -> Settled {
        match self.settle(region, bucket).await {
            Settled::Done(_) => Settled::Done(upload),
            Settled::Conflict(why) => Settled::Conflict(why),
            // The write succeeded; a failed read-back does not undo it.
            Settled::Failed(e) => {
                tracing::warn!("{region}: could not read the artifact back: {e}");
                Settled::Done(upload)
            }
        }
    }

    /// After a refused conditional write: is what won the same artifact?
    async fn settle(&self, region: &str, bucket: &str) -> Settled {
        let s3 = self.target.s3_read(region);
        match upload::inspect(&s3, bucket, self.artifact).await {
            Ok(Existing::Same) => Settled::Done(Upload::Present),
            Ok(Existing::Different(why)) => Settled::Conflict(why),
            Ok(Existing::Absent) => Settled::Failed(RegionError::Content(
                "the write was refused as conflicting, yet no object exists; another stager is writing this version: run again"
                    .into(),
            )),
            Err(e) => Settled::Failed(e),
        }
    }

    /// Phase 3: metadata, then `latest`, in every region whose artifact is in place.
    pub async fn finish(&self, states: &mut HashMap<String, RegionStaging>) {
        let ready: Vec<String> = self
            .regions
            .iter()
            .filter(|r| states[*r].upload.is_some() && states[*r].error.is_none())
            .cloned()
            .collect();
        let buckets: HashMap<String, String> = ready
            .iter()
            .filter_map(|r| states[r].bucket.clone().map(|b| (r.clone(), b)))
            .collect();
        let done = runner::for_each_region(&ready, ready.len(), |r| {
            let bucket = buckets.get(&r).cloned().unwrap_or_default();
            async move {
                self.line(&r).set("writing metadata");
                let s3 = self.target.s3_write(&r);
                // The metadata write and the read of `latest` are independent: one round
                // trip for both. `latest` is still written only after the metadata is in.
                let (m, previous) = futures_util::future::join(
                    meta::stage(&s3, &bucket, self.artifact.key, self.metadata),
                    self.read_latest(&r),
                )
                .await;
                let m = m?;
                self.line(&r).set("updating latest");
                let latest = match previous {
                    Ok(previous) => self.update_latest(&r, previous).await,
                    Err(e) => Err(e),
                }
                .map_err(|e| (m.clone(), e));
                Ok::<_, RegionError>((m, latest))
            }
        })
        .await;
        for (region, result) in done {
            let s = states.entry(region).or_default();
            match result {
                Err(e) => s.error = Some(e),
                Ok((m, Ok(latest))) => {
                    s.metadata = Some(m);
                    s.latest = Some(latest);
                }
                Ok((_, Err((m, e)))) => {
                    s.metadata = Some(m);
                    s.error = Some(e);
                }
            }
        }
    }

    async fn read_latest(&self, region: &str) -> Result<Option<String>, RegionError> {
        let name = self.target.layout.latest_parameter(self.project);
        self.target
            .latest(region, self.project)
            .await
            .map_err(RegionError::doing(format!("reading {name}")))
    }

    /// Moves `latest` to this version when that is forward from `previous` (read while the
    /// metadata was written) or `--force-latest`.
    async fn update_latest(
        &self,
        region: &str,
        previous: Option<String>,
    ) -> Result<LatestChange, RegionError> {
        let name = self.target.layout.latest_parameter(self.project);
        let ours = self.version.to_string();
        let moved = match previous.as_deref().map(|p| (p, Version::parse(p))) {
            None => true,
            Some((p, _)) if p == ours => false,
            Some((_, Err(_))) => true,
            Some((_, Ok(current))) => self.force_latest || moves_forward(&current, self.version),
        };
        if moved {
            put_parameter(&self.target.ssm_write(region), &name, &ours)
                .await
                .map_err(RegionError::doing(format!("writing {name}")))?;
        }
        let current = if moved {
            ours
        } else {
            previous.clone().unwrap_or(ours)
        };
        Ok(LatestChange {
            previous,
            current,
            moved,
        })
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
