//! Test support for the crate's unit tests: one fake AWS, handed in as the client source.
//!
//! [`FakeAws`] gives each target (account × region) canned answers — `aws-smithy-mocks` rules
//! of any service, answered as the real service would (errors as HTTP responses with the body
//! AWS sends, so that they go through the SDK's real deserializers and our classification) —
//! or makes it unreachable (every request fails to connect). No request leaves the process,
//! nothing is loaded from the environment, and retries are off so that what a test sees is
//! what the code under test does with one answer.

use crate::aws::clients::{Plug, Plugs};
use crate::aws::{AwsSettings, ClientSource, Clients, Target};
use crate::cli::{Cli, ColorChoice, Command, GlobalArgs, OutputFormat};
use crate::context::{Context, Environment};
use crate::ui::Ui;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use clap::Parser;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// The region of single-region tests.
pub const REGION: &str = "eu-west-1";

/// A fake AWS: per target, canned answers or a fault.
#[derive(Default)]
pub struct FakeAws {
    targets: HashMap<Target, Answer>,
}

#[derive(Clone)]
enum Answer {
    Rules(SharedInterceptor),
    /// Answers from rules, each only once the gate is open.
    Held(SharedInterceptor, Arc<Gate>),
    Unreachable,
}

impl FakeAws {
    pub fn new() -> Self {
        FakeAws::default()
    }

    /// `at` answers from `rules` (of any service: a rule only matches its own operation). A
    /// request that no rule answers panics: a test says what every call gets.
    pub fn answers(mut self, at: impl Into<Target>, rules: &[&Rule]) -> Self {
        self.targets
            .insert(at.into(), Answer::Rules(interceptor(rules)));
        self
    }

    /// `at` answers from `rules` like [`FakeAws::answers`], but each answer waits until
    /// `gate` is opened: for tests of what must not wait for a slow region.
    pub fn held(mut self, at: impl Into<Target>, rules: &[&Rule], gate: Arc<Gate>) -> Self {
        self.targets
            .insert(at.into(), Answer::Held(interceptor(rules), gate));
        self
    }

    /// `at` does not answer: every request fails to connect (connection refused).
    pub fn unreachable(mut self, at: impl Into<Target>) -> Self {
        self.targets.insert(at.into(), Answer::Unreachable);
        self
    }

    /// The source to hand in as `Context::clients`.
    pub fn source(self) -> ClientSource {
        ClientSource::fixed(base(), settings(), self.plugs())
    }

    /// The clients, opened in `home_region`.
    pub fn clients(self, home_region: &str) -> Clients {
        Clients::fixed(base(), settings(), home_region, Some(self.plugs()))
    }

    fn plugs(self) -> Plugs {
        let targets = self.targets;
        Arc::new(move |at: &Target| {
            // Unknown targets keep the base's HTTP client, which refuses to send.
            Some(match targets.get(at)? {
                Answer::Rules(interceptor) => Plug {
                    interceptor: Some(interceptor.clone()),
                    http_client: create_mock_http_client(),
                },
                Answer::Held(interceptor, gate) => Plug {
                    interceptor: Some(interceptor.clone()),
                    http_client: SharedHttpClient::new(HeldClient {
                        inner: create_mock_http_client(),
                        gate: gate.clone(),
                    }),
                },
                Answer::Unreachable => Plug {
                    interceptor: None,
                    http_client: SharedHttpClient::new(NoAnswer::Unreachable),
                },
            })
        })
    }
}

/// Answers from `rules`, the first that matches a request answering it.
fn interceptor(rules: &[&Rule]) -> SharedInterceptor {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for r in rules {
        interceptor = interceptor.with_rule(r);
    }
    SharedInterceptor::new(interceptor)
}

/// A command's context: the configuration file `file`, a quiet plain UI (no prompts), the
/// fake AWS as the client source, and the given environment variables (none of the process's).
pub fn context(file: &std::path::Path, aws: FakeAws, env: Environment) -> Context {
    Context {
        global: GlobalArgs {
            file: file.to_path_buf(),
            profile: None,
            endpoint_url: None,
            output: OutputFormat::Text,
            verbose: 0,
            quiet: true,
            color: ColorChoice::Never,
        },
        ui: Ui::quiet(),
        clients: aws.source(),
        env,
        cancel: crate::cancel::Cancel::new(),
    }
}

/// The command a command line parses to (`args` without the program's name).
pub fn command(args: &[&str]) -> Command {
    let cli = Cli::try_parse_from(std::iter::once("provision").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?} does not parse: {e}"));
    cli.command
}

/// The clients of one region ([`REGION`]) answering from `rules`: most unit tests need no
/// more.
pub fn clients(rules: &[&Rule]) -> Clients {
    FakeAws::new().answers(REGION, rules).clients(REGION)
}

fn base() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST", "secret", None, None, "fake",
        )))
        .retry_config(RetryConfig::disabled())
        .http_client(SharedHttpClient::new(NoAnswer::Unregistered))
        .build()
}

fn settings() -> AwsSettings {
    AwsSettings {
        max_attempts: 1,
        read_attempts: 1,
        ..AwsSettings::new(None, None, BTreeMap::new())
    }
}

/// An HTTP client that never reaches anything.
#[derive(Debug, Clone)]
enum NoAnswer {
    /// Every request fails to connect (the fault `FakeAws::unreachable` injects).
    Unreachable,
    /// The target registered nothing: a request there is a bug in the test (or a request the
    /// code should not make).
    Unregistered,
}

impl HttpConnector for NoAnswer {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        match self {
            NoAnswer::Unreachable => {
                HttpConnectorFuture::ready(Err(ConnectorError::io(Box::new(std::io::Error::new(
                    std::io::ErrorKind::ConnectionRefused,
                    "connection refused (fake AWS: unreachable)",
                )))))
            }
            NoAnswer::Unregistered => panic!(
                "the fake AWS has no answers registered for {} {}",
                request.method(),
                request.uri()
            ),
        }
    }
}

impl HttpClient for NoAnswer {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// Holds the answers of a [`FakeAws::held`] target until it is opened. A request that stops
/// waiting before (see [`Gate::pass`]) is counted, so that a test of "does not wait" fails
/// instead of hanging.
#[derive(Debug)]
pub struct Gate {
    open: tokio::sync::watch::Sender<bool>,
    overdue: std::sync::atomic::AtomicUsize,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            open: tokio::sync::watch::Sender::new(false),
            overdue: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

impl Gate {
    pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(20);

    pub fn open(&self) {
        self.open.send_replace(true);
    }

    /// How many requests gave up waiting.
    pub fn overdue(&self) -> usize {
        self.overdue.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until the gate is open. A wait that ends otherwise — given up after
    /// [`Gate::PATIENCE`], or dropped by an SDK timeout (whose request the mock then answers
    /// anyway) — is counted as overdue.
    async fn pass(&self) {
        let mut waiting = Overdue(self, true);
        let mut open = self.open.subscribe();
        let waited = tokio::time::timeout(Self::PATIENCE, open.wait_for(|o| *o)).await;
        waiting.1 = waited.is_err();
    }
}

/// Counts a wait as overdue when it is dropped still marked so.
struct Overdue<'a>(&'a Gate, bool);

impl Drop for Overdue<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0
                .overdue
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

#[derive(Debug, Clone)]
struct HeldClient {
    inner: SharedHttpClient,
    gate: Arc<Gate>,
}

impl HttpClient for HeldClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(HeldConnector {
            inner: self.inner.http_connector(settings, components),
            gate: self.gate.clone(),
        })
    }
}

#[derive(Debug)]
struct HeldConnector {
    inner: SharedHttpConnector,
    gate: Arc<Gate>,
}

impl HttpConnector for HeldConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, gate) = (self.inner.clone(), self.gate.clone());
        HttpConnectorFuture::new(async move {
            gate.pass().await;
            inner.call(request).await
        })
    }
}

/// An HTTP response with `body`.
pub fn response(status: u16, body: impl Into<String>) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).expect("an HTTP status"),
        SdkBody::from(body.into()),
    )
}

/// The body the query protocol (CloudFormation, IAM, STS) sends with an error.
pub fn query_error(code: &str, message: &str) -> String {
    format!(
        r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <Error>
    <Type>Sender</Type>
    <Code>{code}</Code>
    <Message>{message}</Message>
  </Error>
  <RequestId>5ccc7dcd-744c-11e5-be70-1b08c228efb3</RequestId>
</ErrorResponse>"#
    )
}

/// An S3 error response as S3 sends it.
pub fn s3_error(status: u16, code: &str) -> HttpResponse {
    response(
        status,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message></Error>"
        ),
    )
}

/// An error response of a JSON-protocol service (SSM, KMS).
pub fn json_error(status: u16, kind: &str, message: &str) -> HttpResponse {
    response(
        status,
        format!(r#"{{"__type":"{kind}","message":"{message}"}}"#),
    )
}

/// Collects progress messages (the `progress` callbacks of long operations).
#[derive(Clone, Default)]
pub struct Messages(Arc<Mutex<Vec<String>>>);

impl Messages {
    pub fn push(&self, m: String) {
        if let Ok(mut v) = self.0.lock() {
            v.push(m);
        }
    }

    pub fn all(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}
