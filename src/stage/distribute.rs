//! Phase 2 of `stage`: the artifact into every region where it is absent — direct uploads
//! or, with a copy, one upload and server-side copies — committed in claim order
//! ([`super::claim`]).

use super::RegionError;
use super::claim::{Conflict, Settled, Upload, claim_then_rest, into_result};
use super::copy::{self, Source};
use super::stage_flow::{Begun, HeadStart, Job, RegionStaging};
use super::upload::{self, Committed, Existing, Pending};
use crate::runner;
use std::collections::HashMap;
use std::time::Duration;

impl Job<'_> {
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
            self.upload_single(absent, claimed.is_some(), head_start)
                .await?
        } else {
            self.upload_multipart(absent, claimed.is_some(), &rtts)
                .await?
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

    /// Phase 2 without a copy, for a single `PutObject`: the claim (unless the check already
    /// made it, see [`Job::starts_early`]), then the other regions at once.
    async fn upload_single(
        &self,
        mut absent: Vec<(String, String)>,
        mut claimed: bool,
        head_start: Option<HeadStart>,
    ) -> Result<Vec<(String, Result<Upload, RegionError>)>, Conflict> {
        let mut results = Vec::new();
        if let Some(HeadStart {
            region,
            begun: Begun::Claim(settled),
        }) = head_start
        {
            absent.retain(|(r, _)| *r != region);
            match settled {
                Settled::Done(u) => {
                    results.push((region, Ok(u)));
                    claimed = true;
                }
                Settled::Conflict(why) => return Err(Conflict(vec![(region, why)])),
                // The next region in claim order makes the claim.
                Settled::Failed(e) => results.push((region, Err(e))),
            }
        }
        let rest = claim_then_rest(
            absent,
            claimed,
            |r, b, claiming| self.direct_single(r, b, claiming),
            |_| async {},
        )
        .await?;
        results.extend(rest);
        Ok(results)
    }

    /// Phase 2 without a copy, for a multipart artifact: every region's parts at once, then
    /// the commits in claim order.
    async fn upload_multipart(
        &self,
        absent: Vec<(String, String)>,
        claimed: bool,
        rtts: &HashMap<String, Duration>,
    ) -> Result<Vec<(String, Result<Upload, RegionError>)>, Conflict> {
        let regions: Vec<String> = absent.iter().map(|(r, _)| r.clone()).collect();
        let buckets: HashMap<String, String> = absent.into_iter().collect();
        let uploaded = runner::for_each_region(&regions, regions.len(), |r| {
            let bucket = buckets[&r].clone();
            let in_flight = self.parts_in_flight(rtts, &r);
            async move { self.upload_parts(&r, &bucket, in_flight).await }
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
            claimed,
            |r, p, claiming| self.commit_multipart(r, p, claiming),
            |p: Pending| async move { upload::abort(&p).await },
        )
        .await?;
        results.extend(committed);
        Ok(results)
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
                    Some(HeadStart {
                        region,
                        begun: Begun::Parts(parts),
                    }) if region == r => match parts {
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

    pub(super) async fn direct_single(
        &self,
        region: String,
        bucket: String,
        claiming: bool,
    ) -> Settled {
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
        match self.upload_parts(region, bucket, in_flight).await {
            Ok(p) => self.commit_multipart(region.to_string(), p, claiming).await,
            Err(e) => Settled::Failed(e),
        }
    }

    /// Uploads every part to `region`, `in_flight` at once; nothing is visible until the
    /// upload is completed.
    pub(super) async fn upload_parts(
        &self,
        region: &str,
        bucket: &str,
        in_flight: usize,
    ) -> Result<Pending, RegionError> {
        self.line(region).set("uploading parts");
        let s3 = self.target.s3_write(region);
        upload::upload_parts(
            &s3,
            bucket,
            self.artifact,
            self.line(region),
            in_flight,
            self.cancel,
        )
        .await
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
}
