//! AWS: the one client source ([`clients`]), the classification of SDK errors ([`error`]),
//! and the SSM parameter helpers ([`ssm`]).
//!
//! Credentials are resolved once and shared by every region's clients; each client gets its
//! region and, where configured, its endpoint (a loopback endpoint needs path-style S3).

mod assume_role;
pub mod clients;
#[cfg(test)]
mod clients_tests;
pub mod error;
#[cfg(test)]
mod error_tests;
pub mod polling;
pub mod ssm;

pub use clients::{ClientSource, Clients, Target};
pub use error::{AwsError, ClientRegion, ErrorKind, SdkResultExt, describe};
pub use polling::{Backoff, GaveUp, Polling};

use std::collections::BTreeMap;
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
