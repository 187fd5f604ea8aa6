//! Phase 1 of `stage`: the bucket's name and the existing object in every region at once;
//! the claim region's upload may begin meanwhile ([`Job::starts_early`]).

use super::stage_flow::{Begun, HeadStart, Job, RegionStaging};
use super::upload::{self, Existing};
use crate::runner;
use std::collections::HashMap;
use std::time::Duration;

impl Job<'_> {
    /// Phase 1: bucket and existing object in every region. The claim region's upload
    /// begins as soon as its own check found nothing, while the other regions are still
    /// being checked, where nothing they find can have to stop it ([`Job::starts_early`]):
    /// with a copy, the parts of its multipart upload (proposal 3e; invisible until
    /// `CompleteMultipartUpload`, which [`Job::upload`] sends only once every check is in);
    /// a single `PutObject` without a copy, the claim itself.
    pub async fn check(&self) -> (HashMap<String, RegionStaging>, Option<HeadStart>) {
        let results =
            runner::for_each_region(&self.regions, self.regions.len(), |region| async move {
                let out = self.check_region(&region).await;
                let head_start = match (&out.bucket, &out.existing) {
                    (Some(bucket), Some(Existing::Absent)) if self.starts_early(&region) => {
                        let begun = self.begin(&region, bucket, out.rtt).await;
                        Some(HeadStart {
                            region: region.clone(),
                            begun,
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
    /// region (first in claim order), when nothing the others' checks could find has to stop
    /// it. That is a multipart upload that the others copy (its parts stay invisible until
    /// [`Job::upload`] completes it, once every check is in: proposal 3e), and a single
    /// `PutObject` without a copy (the other regions are not inspected, see
    /// [`Job::inspects`]: their checks only read the bucket name, so the claim need not
    /// wait for the farthest region's).
    fn starts_early(&self, region: &str) -> bool {
        let single = self.artifact.digest.part_size.is_none();
        !self.dry_run
            && self.copy != single
            && self.regions.first().map(String::as_str) == Some(region)
    }

    /// Starts the claim region's upload during the check (see [`Job::starts_early`]).
    async fn begin(&self, region: &str, bucket: &str, rtt: Option<Duration>) -> Begun {
        if self.artifact.digest.part_size.is_none() {
            return Begun::Claim(
                self.direct_single(region.to_string(), bucket.to_string(), true)
                    .await,
            );
        }
        let in_flight = upload::parts_in_flight(rtt, self.artifact.digest.part_size.unwrap_or(1));
        Begun::Parts(self.upload_parts(region, bucket, in_flight).await)
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
}
