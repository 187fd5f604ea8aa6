//! AWS SDK configuration per region (profile, endpoint overrides, retries, timeouts) and the
//! region fan-out every multi-region command uses.
//!
//! Credentials are resolved once and shared by every region's clients; each client gets its
//! region and, where configured, its endpoint (a loopback endpoint needs path-style S3).

pub mod error;
pub mod ssm;

pub use error::{AwsError, ClientRegion, ErrorKind, SdkResultExt};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
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
        }
    }

    /// The endpoint override of `region`, if any.
    pub fn endpoint(&self, region: &str) -> Option<&str> {
        self.endpoints
            .get(region)
            .or(self.endpoint_url.as_ref())
            .map(String::as_str)
    }

    /// Loads the shared configuration (credentials chain, profile) once.
    pub async fn load(&self, region: &str) -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .retry_config(RetryConfig::adaptive().with_max_attempts(self.max_attempts))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.connect_timeout)
                    .build(),
            );
        if let Some(p) = &self.profile {
            loader = loader.profile_name(p);
        }
        tracing::info!(
            region,
            profile = self.profile.as_deref().unwrap_or("(default chain)"),
            endpoint = self.endpoint_url.as_deref().unwrap_or("(AWS)"),
            per_region_endpoints = self.endpoints.len(),
            "loading AWS configuration"
        );
        Aws {
            base: loader.load().await,
            settings: self.clone(),
        }
    }
}

/// Shared SDK configuration; hands out clients per region.
#[derive(Debug, Clone)]
pub struct Aws {
    pub base: SdkConfig,
    pub settings: AwsSettings,
}

macro_rules! client {
    ($name:ident, $krate:ident) => {
        pub fn $name(&self, region: &str) -> $krate::Client {
            let mut b =
                $krate::config::Builder::from(&self.base).region(Region::new(region.to_string()));
            if let Some(url) = self.settings.endpoint(region) {
                b = b.endpoint_url(url);
            }
            $krate::Client::from_conf(b.build())
        }
    };
}

/// Attempts per read request: a region that fails twice is skipped for the next one.
const READ_ATTEMPTS: u32 = 2;
/// Longest wait for a read's response headers before trying again or failing over.
const READ_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

impl Aws {
    client!(cloudformation, aws_sdk_cloudformation);
    client!(ssm, aws_sdk_ssm);
    client!(iam, aws_sdk_iam);
    client!(kms, aws_sdk_kms);
    client!(sts, aws_sdk_sts);

    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let mut b =
            aws_sdk_s3::config::Builder::from(&self.base).region(Region::new(region.to_string()));
        if let Some(url) = self.settings.endpoint(region) {
            // A loopback or emulator endpoint has no virtual-host names.
            b = b.endpoint_url(url).force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(b.build())
    }

    /// Timeouts of reads that fail over to another region: a short connect timeout and a
    /// bound on each attempt.
    fn read_timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.settings.connect_timeout)
            .operation_attempt_timeout(READ_ATTEMPT_TIMEOUT)
            .build()
    }

    /// An SSM client for reads that gives up quickly (two attempts, short timeouts), so that an
    /// unreachable region costs seconds, not a minute of retries.
    pub fn ssm_reads(&self, region: &str) -> aws_sdk_ssm::Client {
        let conf = self
            .ssm(region)
            .config()
            .to_builder()
            .retry_config(RetryConfig::standard().with_max_attempts(READ_ATTEMPTS))
            .timeout_config(self.read_timeouts())
            .build();
        aws_sdk_ssm::Client::from_conf(conf)
    }

    /// An S3 client for reads (HEAD, GET, list): quick to give up, like [`Aws::ssm_reads`].
    /// The body of a GET is not covered by the attempt timeout; the download guards it.
    /// The SDK's own response-checksum validation is off: downloads verify the SHA-256
    /// from the metadata themselves, and S3's checksums only for full-object checksums
    /// (emulators report a multipart object's composite checksum without its `-N` mark,
    /// which the SDK would take for a full-object one and fail on).
    pub fn s3_reads(&self, region: &str) -> aws_sdk_s3::Client {
        let conf = self
            .s3(region)
            .config()
            .to_builder()
            .retry_config(RetryConfig::standard().with_max_attempts(READ_ATTEMPTS))
            .timeout_config(self.read_timeouts())
            .response_checksum_validation(
                aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
            )
            .build();
        aws_sdk_s3::Client::from_conf(conf)
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
