//! SDK clients for the checks a test makes itself, straight against an emulator. They are
//! configured entirely here and read nothing of the test process's environment: no profile,
//! no shared config file, no `AWS_*` variable, no proxy (a developer's `HTTP_PROXY` would
//! otherwise catch requests to 127.0.0.1).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls;

/// SDK configuration for `region` of the emulator at `endpoint`, with the fake credentials.
pub fn sdk_config(endpoint: &str, region: &str) -> SdkConfig {
    sdk_config_as(
        endpoint,
        region,
        Credentials::new(
            super::command::FAKE_ACCESS_KEY_ID,
            "testing",
            Some("testing".into()),
            None,
            "tests",
        ),
    )
}

/// [`sdk_config`] with other credentials (a role assumed in a member account).
pub fn sdk_config_as(endpoint: &str, region: &str, credentials: Credentials) -> SdkConfig {
    // Without an explicit proxy configuration this client connects directly; the SDK's
    // default client would read HTTP(S)_PROXY.
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build_https();
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(http)
        .build()
}

/// An S3 client for the emulator (path-style addressing: a loopback endpoint has no
/// virtual-host names).
pub fn s3_client(endpoint: &str, region: &str) -> aws_sdk_s3::Client {
    let conf = sdk_config(endpoint, region);
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    )
}
