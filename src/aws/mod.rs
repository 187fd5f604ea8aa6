//! AWS: the one client source ([`clients`]), the classification of SDK errors ([`error`]),
//! the SSM parameter helpers ([`ssm`]) and the region fan-out.
//!
//! Credentials are resolved once and shared by every region's clients; each client gets its
//! region and, where configured, its endpoint (a loopback endpoint needs path-style S3).

pub mod clients;
pub mod error;
pub mod ssm;

pub use clients::{ClientSource, Clients, Target};
pub use error::{AwsError, ClientRegion, ErrorKind, SdkResultExt};

use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// Where and how to reach AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// Named profile (`--profile`, `AWS_PROFILE`).
    pub profile: Option<String>,
    /// Endpoint for every region (`--endpoint-url`, `AWS_ENDPOINT_URL`).
    pub endpoint_url: Option<String>,
    /// Per-region endpoints (configuration file `endpoints`); they win over `endpoint_url`.
    pub endpoints: BTreeMap<String, String>,
    /// Connect timeout. Short by default so that failover to another region is quick.
    pub connect_timeout: Duration,
    /// Attempts per request, including the first (throttling and transient errors retry).
    pub max_attempts: u32,
    /// Attempts per read that fails over: a region that fails twice is skipped for the next.
    pub read_attempts: u32,
    /// Longest wait for a read's response headers before trying again or failing over.
    pub read_attempt_timeout: Duration,
}

impl AwsSettings {
    pub fn new(
        profile: Option<String>,
        endpoint_url: Option<String>,
        endpoints: BTreeMap<String, String>,
    ) -> Self {
        AwsSettings {
            profile,
            endpoint_url,
            endpoints,
            connect_timeout: Duration::from_secs(3),
            max_attempts: 5,
            read_attempts: 2,
            read_attempt_timeout: Duration::from_secs(10),
        }
    }

    /// The endpoint override of `region`, if any.
    pub fn endpoint(&self, region: &str) -> Option<&str> {
        self.endpoints
            .get(region)
            .or(self.endpoint_url.as_ref())
            .map(String::as_str)
    }
}

/// Runs `task` for every region, at most `max_concurrency` at once, and returns the results in
/// the order of `regions`. One region's failure never stops the others.
pub async fn for_each_region<T, F, Fut>(
    regions: &[String],
    max_concurrency: usize,
    task: F,
) -> Vec<(String, T)>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = T>,
{
    let mut results: Vec<(usize, String, T)> =
        futures_util::stream::iter(regions.iter().cloned().enumerate())
            .map(|(i, r)| {
                let fut = task(r.clone());
                async move {
                    let started = std::time::Instant::now();
                    tracing::debug!(region = %r, "region started");
                    let out = fut.await;
                    let elapsed_ms = started.elapsed().as_millis() as u64;
                    tracing::info!(region = %r, elapsed_ms, "region finished");
                    (i, r, out)
                }
            })
            .buffer_unordered(max_concurrency.max(1))
            .collect()
            .await;
    results.sort_by_key(|(i, _, _)| *i);
    results.into_iter().map(|(_, r, t)| (r, t)).collect()
}
