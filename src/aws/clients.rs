//! The one client source. [`ClientSource`] is built once, by `main`, and handed into `run()`;
//! a command opens it ([`ClientSource::open`]) with the region its credential chain should use
//! and the configuration's per-region endpoints, and the opened [`Clients`] hand out SDK
//! clients per target (account × region) and service. Nothing else loads AWS configuration.
//!
//! The account dimension: a target without an account is the credentials' own account; a
//! target in another account gets a client whose credentials come from assuming a role there
//! (`arn:<partition>:iam::<account>:role/<role name>`, the role name set with
//! [`Clients::with_member_role`]) through STS `AssumeRole` with the source's own
//! credentials, cached per account until shortly before they expire.
//!
//! Tests hand in a source made from a fixed configuration and a [`Plugs`] function that gives
//! each target's clients canned answers (an interceptor) or a failing HTTP client.

use super::AwsSettings;
use super::assume_role::AssumedRole;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Where a request goes: an account (`None`: the credentials' own) and a region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    pub account: Option<String>,
    pub region: String,
}

impl Target {
    /// A region of the credentials' own account.
    pub fn region(region: &str) -> Self {
        Target {
            account: None,
            region: region.to_string(),
        }
    }

    /// A region of another account.
    pub fn in_account(account: &str, region: &str) -> Self {
        Target {
            account: Some(account.to_string()),
            region: region.to_string(),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.account {
            None => f.write_str(&self.region),
            Some(account) => write!(f, "{account}/{}", self.region),
        }
    }
}

impl From<&str> for Target {
    fn from(region: &str) -> Self {
        Target::region(region)
    }
}

impl From<&String> for Target {
    fn from(region: &String) -> Self {
        Target::region(region)
    }
}

impl From<&Target> for Target {
    fn from(t: &Target) -> Self {
        t.clone()
    }
}

/// What a test plugs into the clients of one target: canned answers and the HTTP client that
/// carries (or fails) the requests.
#[derive(Debug, Clone)]
pub struct Plug {
    pub interceptor: Option<SharedInterceptor>,
    pub http_client: SharedHttpClient,
}

/// Gives each target its [`Plug`] (`None`: the target is not plugged).
pub type Plugs = Arc<dyn Fn(&Target) -> Option<Plug> + Send + Sync>;

/// The role assumed in other accounts unless the caller names another: the one AWS
/// Organizations creates in every member account.
pub const DEFAULT_MEMBER_ROLE: &str = "OrganizationAccountAccessRole";

/// Builds [`Clients`]: loads the shared configuration (credential chain, profile) when a
/// command opens it, or uses a fixed one (tests).
#[derive(Clone)]
pub struct ClientSource {
    settings: AwsSettings,
    fixed: Option<(SdkConfig, Plugs)>,
}

impl std::fmt::Debug for ClientSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSource")
            .field("settings", &self.settings)
            .field("fixed", &self.fixed.is_some())
            .finish()
    }
}

impl ClientSource {
    /// The real source: `--profile` and `--endpoint-url` from the command line.
    pub fn new(profile: Option<String>, endpoint_url: Option<String>) -> Self {
        ClientSource {
            settings: AwsSettings::new(profile, endpoint_url, BTreeMap::new()),
            fixed: None,
        }
    }

    /// The source of the command line's global options (what `main` hands into `run`).
    pub fn from_args(global: &crate::cli::GlobalArgs) -> Self {
        ClientSource::new(global.profile.clone(), global.endpoint_url.clone())
    }

    /// A source that loads nothing: every client is made from `base` (its credentials, retry
    /// and timeout settings, HTTP client), changed by the target's [`Plug`].
    pub fn fixed(base: SdkConfig, settings: AwsSettings, plugs: Plugs) -> Self {
        ClientSource {
            settings,
            fixed: Some((base, plugs)),
        }
    }

    /// Opens the source for a command: `home_region` is where the credential chain (and the
    /// STS calls that assume roles) run; `endpoints` are the configuration's per-region
    /// endpoint overrides (they win over `--endpoint-url`).
    pub async fn open(&self, home_region: &str, endpoints: &BTreeMap<String, String>) -> Clients {
        let mut settings = self.settings.clone();
        settings.endpoints.extend(endpoints.clone());
        match &self.fixed {
            Some((base, plugs)) => {
                Clients::fixed(base.clone(), settings, home_region, Some(plugs.clone()))
            }
            None => {
                let base = settings.load(home_region).await;
                Clients::fixed(base, settings, home_region, None)
            }
        }
    }
}

/// Hands out SDK clients per target (account × region) and service. Cheap to clone.
#[derive(Clone)]
pub struct Clients {
    inner: Arc<Inner>,
}

/// A client of any service, as [`Clients`] keeps it.
type BuiltClient = Box<dyn Any + Send + Sync>;

struct Inner {
    base: SdkConfig,
    settings: AwsSettings,
    home_region: String,
    member_role: String,
    /// Credentials of the other accounts, assumed once and shared by their clients.
    accounts: Mutex<HashMap<String, SharedCredentialsProvider>>,
    /// Clients already built, per target and kind (`"s3"`, `"ssm_reads"`, ...): a command
    /// asks for the same region's client many times, and building one costs CPU.
    built: Mutex<HashMap<(Target, &'static str), BuiltClient>>,
    plugs: Option<Plugs>,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients")
            .field("home_region", &self.inner.home_region)
            .field("member_role", &self.inner.member_role)
            .finish()
    }
}

macro_rules! service {
    ($(#[$doc:meta])* $name:ident, $krate:ident) => {
        $(#[$doc])*
        pub fn $name(&self, at: impl Into<Target>) -> $krate::Client {
            let at = at.into();
            self.cached(stringify!($name), &at, || {
                let mut b = $krate::config::Builder::from(&self.inner.base)
                    .region(Region::new(at.region.clone()));
                if let Some(url) = self.endpoint(&at.region) {
                    b = b.endpoint_url(url);
                }
                if let Some(account) = &at.account {
                    b = b.credentials_provider(self.assumed(account));
                }
                if let Some(plug) = self.plug(&at) {
                    b = b.http_client(plug.http_client);
                    if let Some(i) = plug.interceptor {
                        b = b.interceptor(i);
                    }
                }
                $krate::Client::from_conf(b.build())
            })
        }
    };
}

impl Clients {
    /// Clients made from `base`, changed per target by `plugs` (see [`ClientSource::fixed`]).
    pub fn fixed(
        base: SdkConfig,
        settings: AwsSettings,
        home_region: &str,
        plugs: Option<Plugs>,
    ) -> Clients {
        Clients {
            inner: Arc::new(Inner {
                base,
                settings,
                home_region: home_region.to_string(),
                member_role: DEFAULT_MEMBER_ROLE.to_string(),
                accounts: Mutex::default(),
                built: Mutex::default(),
                plugs,
            }),
        }
    }

    service!(
        /// CloudFormation, with the shared (patient) retry settings.
        cloudformation,
        aws_sdk_cloudformation
    );
    service!(
        /// SSM for writes, with the shared (patient) retry settings.
        ssm,
        aws_sdk_ssm
    );
    service!(iam, aws_sdk_iam);
    service!(
        /// AWS Organizations (a global service: its endpoint is in `us-east-1`, or the
        /// partition's first region).
        organizations,
        aws_sdk_organizations
    );
    service!(kms, aws_sdk_kms);
    service!(sts, aws_sdk_sts);

    /// S3 for writes: the shared settings (adaptive retries, no attempt timeout, since a part
    /// upload takes as long as it takes). An endpoint override is a loopback or emulator
    /// endpoint without virtual-host names: path-style addressing.
    pub fn s3(&self, at: impl Into<Target>) -> aws_sdk_s3::Client {
        let at = at.into();
        self.cached("s3", &at, || {
            let path_style = self.endpoint(&at.region).is_some();
            let client = self.s3_plain(&at);
            if !path_style {
                return client;
            }
            aws_sdk_s3::Client::from_conf(
                client.config().to_builder().force_path_style(true).build(),
            )
        })
    }

    service!(s3_plain, aws_sdk_s3);

    /// SSM for reads that fail over to another region: few attempts, short timeouts, so that
    /// an unreachable region costs seconds, not a minute of retries.
    pub fn ssm_reads(&self, at: impl Into<Target>) -> aws_sdk_ssm::Client {
        let at = at.into();
        self.cached("ssm_reads", &at, || {
            let conf = self
                .ssm(&at)
                .config()
                .to_builder()
                .retry_config(self.read_retries())
                .timeout_config(self.read_timeouts())
                .build();
            aws_sdk_ssm::Client::from_conf(conf)
        })
    }

    /// S3 for reads (HEAD, GET, list): quick to give up, like [`Clients::ssm_reads`]. The body
    /// of a GET is not covered by the attempt timeout; the download guards it. The SDK's own
    /// response-checksum validation is off: downloads verify the SHA-256 from the metadata
    /// themselves, and S3's checksums only for full-object checksums (emulators report a
    /// multipart object's composite checksum without its `-N` mark, which the SDK would take
    /// for a full-object one and fail on).
    pub fn s3_reads(&self, at: impl Into<Target>) -> aws_sdk_s3::Client {
        let at = at.into();
        self.cached("s3_reads", &at, || {
            let conf = self
                .s3(&at)
                .config()
                .to_builder()
                .retry_config(self.read_retries())
                .timeout_config(self.read_timeouts())
                .response_checksum_validation(
                    aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
                )
                .build();
            aws_sdk_s3::Client::from_conf(conf)
        })
    }

    /// The same clients, assuming `role` (a role name) in other accounts.
    pub fn with_member_role(&self, role: &str) -> Clients {
        Clients {
            inner: Arc::new(Inner {
                base: self.inner.base.clone(),
                settings: self.inner.settings.clone(),
                home_region: self.inner.home_region.clone(),
                member_role: role.to_string(),
                accounts: Mutex::default(),
                built: Mutex::default(),
                plugs: self.inner.plugs.clone(),
            }),
        }
    }

    /// The endpoint override of `region`, if any.
    pub fn endpoint(&self, region: &str) -> Option<&str> {
        self.inner.settings.endpoint(region)
    }

    /// Whether requests to `region` stay local (an endpoint override or a test plug): such
    /// endpoints answer at once, so waits poll quickly.
    pub fn is_local(&self, region: &str) -> bool {
        self.endpoint(region).is_some()
            || self
                .inner
                .plugs
                .as_ref()
                .is_some_and(|p| p(&Target::region(region)).is_some())
    }

    /// The credentials of the caller's own account (to warn when they expire early).
    pub fn credentials_provider(&self) -> Option<SharedCredentialsProvider> {
        self.inner.base.credentials_provider()
    }

    /// The client of `kind` for `at`, built by `build` the first time it is asked for.
    fn cached<C: Clone + Send + Sync + 'static>(
        &self,
        kind: &'static str,
        at: &Target,
        build: impl FnOnce() -> C,
    ) -> C {
        let key = (at.clone(), kind);
        let found = self
            .inner
            .built
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&key)
            .and_then(|c| c.downcast_ref::<C>())
            .cloned();
        if let Some(client) = found {
            return client;
        }
        // Built outside the lock: building one client may ask for another (`s3_reads` is
        // made from `s3`). Two tasks racing here build two equal clients; one is kept.
        let client = build();
        self.inner
            .built
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(key)
            .or_insert_with(|| Box::new(client.clone()));
        client
    }

    fn plug(&self, at: &Target) -> Option<Plug> {
        self.inner.plugs.as_ref().and_then(|p| p(at))
    }

    fn read_retries(&self) -> RetryConfig {
        RetryConfig::standard().with_max_attempts(self.inner.settings.read_attempts)
    }

    fn read_timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.inner.settings.connect_timeout)
            .operation_attempt_timeout(self.inner.settings.read_attempt_timeout)
            .build()
    }

    /// The credentials of `account`: a role assumed there, once per account.
    fn assumed(&self, account: &str) -> SharedCredentialsProvider {
        let mut accounts = self
            .inner
            .accounts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        accounts
            .entry(account.to_string())
            .or_insert_with(|| {
                let home = &self.inner.home_region;
                SharedCredentialsProvider::new(AssumedRole::new(
                    self.sts(home),
                    format!(
                        "arn:{}:iam::{account}:role/{}",
                        crate::region::partition_of(home).id,
                        self.inner.member_role
                    ),
                ))
            })
            .clone()
    }
}

impl AwsSettings {
    /// Loads the shared configuration (credentials chain, profile) once.
    pub async fn load(&self, region: &str) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(shared_https_client())
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
        loader.load().await
    }
}

/// One HTTP client, and so one connection pool per connect settings, for every service client
/// of a command. Without it the SDK builds an HTTP client (and a pool) per service client, so
/// every client's first request opens a connection: on a 250 ms link, that is a round trip
/// (two with TLS) per client. The connector is the SDK's default one (rustls with aws-lc,
/// proxy settings from the environment).
fn shared_https_client() -> SharedHttpClient {
    use aws_smithy_http_client::{Builder, ConnectorBuilder, proxy::ProxyConfig, tls};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut conn = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        conn.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            conn.set_sleep_impl(components.sleep_impl());
        }
        conn.set_proxy_config(Some(ProxyConfig::from_env()));
        conn.build()
    })
}
