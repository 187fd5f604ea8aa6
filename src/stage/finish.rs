//! Phase 3 of `stage`, per region once its artifact is in place: the metadata object (while
//! `latest` is read), then `latest`, which only moves forward in semantic-version order
//! unless `--force-latest`.

use super::RegionError;
use super::meta;
use super::stage_flow::{Job, LatestChange, RegionStaging};
use crate::aws::ssm::put_parameter;
use crate::runner;
use crate::startifact::layout::moves_forward;
use semver::Version;
use std::collections::HashMap;

impl Job<'_> {
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
