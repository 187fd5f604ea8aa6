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
    Unreachable,
}

impl FakeAws {
    pub fn new() -> Self {
        FakeAws::default()
    }

    /// `at` answers from `rules` (of any service: a rule only matches its own operation). A
    /// request that no rule answers panics: a test says what every call gets.
    pub fn answers(mut self, at: impl Into<Target>, rules: &[&Rule]) -> Self {
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for r in rules {
            interceptor = interceptor.with_rule(r);
        }
        self.targets.insert(
            at.into(),
            Answer::Rules(SharedInterceptor::new(interceptor)),
        );
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
                Answer::Unreachable => Plug {
                    interceptor: None,
                    http_client: SharedHttpClient::new(NoAnswer::Unreachable),
                },
            })
        })
    }
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
