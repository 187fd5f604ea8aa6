//! The claim: the order in which regions are committed, and committing them in it — one by
//! one until the first commit succeeds (the claim), then all the others at once — and the
//! choice between uploading to every region and uploading once and copying.

use super::RegionError;
use schemars::JsonSchema;
use serde::Serialize;
use std::future::Future;

/// How the artifact got into a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Upload {
    /// One `PutObject`.
    Put,
    /// A streaming multipart upload.
    Multipart,
    /// A server-side copy from another region.
    Copy,
    /// It was already there with the same bytes.
    Present,
}

/// The stage stopped before writing: another version of these bytes is staged.
pub struct Conflict(pub Vec<(String, String)>);

/// How one region's commit ended.
pub enum Settled {
    Done(Upload),
    Conflict(String),
    Failed(RegionError),
}

/// Staging to several regions uploads once and copies server-side above this size (unless
/// `--no-copy`): the multipart threshold.
pub const COPY_ABOVE: u64 = super::digest::MULTIPART_THRESHOLD;

/// Whether uploading once and copying server-side beats uploading to every region. Uploads
/// to k regions share the runner's uplink B; a copy runs inside AWS at a rate C per request
/// and costs a round trip to the copy's region plus one between regions. Copying wins above
/// S = (RTT + RTT between regions) / ((k - 1) / B - 1 / C): with C = 100 MB/s and k = 3,
/// 10.5 MB at B = 100 MB/s, 3.5 MB at 50 MB/s, 0.55 MB at 10 MB/s (docs/performance.md).
/// Above the multipart threshold it wins for every uplink slower than (k - 1) × C; direct
/// uploads stay the choice for small files, where the copy's round trips dominate.
pub fn copy_pays(size: u64, regions: usize) -> bool {
    regions > 1 && size > COPY_ABOVE
}

/// The order regions are committed in: the organisation configuration's `regions` list in its
/// order (usually the home region, nearest to CI, first), then the regions it does not list,
/// sorted. Every stager reads the same configuration, so two stagers of one version meet in
/// the same region first whatever subset of regions each stages to, which is all the claim
/// needs; the first configured region rather than the alphabetically first keeps the claim's
/// round trips (commit, read-back) on the nearest link.
pub fn claim_order(regions: &[String], configured: &[String]) -> Vec<String> {
    let mut order: Vec<String> = configured
        .iter()
        .filter(|c| regions.contains(c))
        .cloned()
        .collect();
    order.dedup();
    let mut rest: Vec<String> = regions
        .iter()
        .filter(|r| !order.contains(r))
        .cloned()
        .collect();
    rest.sort();
    rest.dedup();
    order.extend(rest);
    order
}

pub(super) fn into_result(s: Settled) -> Result<Upload, RegionError> {
    match s {
        Settled::Done(u) => Ok(u),
        Settled::Conflict(why) => Err(RegionError::Conflict(why)),
        Settled::Failed(e) => Err(e),
    }
}

/// Commits `items` one by one in order until one succeeds (the claim; skipped when
/// `claimed`), then the rest concurrently. Other bytes found before the claim stop
/// everything: the remaining items are handed to `abandon` and the conflict returned.
pub(super) async fn claim_then_rest<T, F, Fut, A, AFut>(
    items: Vec<(String, T)>,
    claimed: bool,
    commit: F,
    abandon: A,
) -> Result<Vec<(String, Result<Upload, RegionError>)>, Conflict>
where
    F: Fn(String, T, bool) -> Fut,
    Fut: Future<Output = Settled>,
    A: Fn(T) -> AFut,
    AFut: Future<Output = ()>,
{
    let mut results = Vec::new();
    let mut queue = items.into_iter();
    if !claimed {
        loop {
            let Some((region, item)) = queue.next() else {
                return Ok(results);
            };
            match commit(region.clone(), item, true).await {
                Settled::Done(u) => {
                    results.push((region, Ok(u)));
                    break;
                }
                Settled::Failed(e) => results.push((region, Err(e))),
                Settled::Conflict(why) => {
                    futures_util::future::join_all(queue.map(|(_, t)| abandon(t))).await;
                    return Err(Conflict(vec![(region, why)]));
                }
            }
        }
    }
    let rest = futures_util::future::join_all(queue.map(|(region, item)| {
        let fut = commit(region.clone(), item, false);
        async move { (region, into_result(fut.await)) }
    }))
    .await;
    results.extend(rest);
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::{COPY_ABOVE, claim_order, copy_pays};

    #[test]
    fn large_files_to_several_regions_are_uploaded_once_and_copied() {
        assert!(copy_pays(COPY_ABOVE + 1, 2));
        assert!(copy_pays(100 << 20, 3));
        assert!(!copy_pays(COPY_ABOVE, 3), "a single PutObject: direct");
        assert!(!copy_pays(1 << 30, 1), "nothing to copy to");
    }

    fn list(regions: &[&str]) -> Vec<String> {
        regions.iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn the_claim_goes_to_the_first_configured_region_then_the_unlisted_ones_sorted() {
        let configured = list(&["eu-west-1", "us-east-1", "ap-southeast-2"]);
        assert_eq!(
            claim_order(
                &list(&["ap-southeast-2", "us-east-1", "eu-west-1"]),
                &configured
            ),
            configured
        );
        // A subset (STARTIFACT_REGIONS) keeps the configuration's order; regions the
        // configuration does not list come last, sorted.
        assert_eq!(
            claim_order(
                &list(&["us-west-2", "ap-southeast-2", "ca-central-1", "us-east-1"]),
                &configured
            ),
            list(&["us-east-1", "ap-southeast-2", "ca-central-1", "us-west-2"])
        );
        assert_eq!(
            claim_order(&list(&["b-1", "a-1"]), &[]),
            list(&["a-1", "b-1"])
        );
    }
}
