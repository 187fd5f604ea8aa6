//! An S3 client for reading bucket settings back from moto. moto 5 answers a few S3 reads with
//! the XML root element `<Operation>Response` where S3 writes the configuration's own element
//! (`GetBucketVersioning` answers `<GetBucketVersioningResponse>`, S3 `<VersioningConfiguration>`).
//! The Go SDK behind Terraform ignores the root's name; the Rust SDK refuses the document. This
//! client's HTTP layer renames exactly those roots, and changes nothing else.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;

/// moto's root element → S3's.
const ROOTS: &[(&str, &str)] = &[
    ("GetBucketVersioningResponse", "VersioningConfiguration"),
    ("GetBucketCorsResponse", "CORSConfiguration"),
    (
        "GetBucketLifecycleConfigurationResponse",
        "LifecycleConfiguration",
    ),
    ("GetBucketTaggingResponse", "Tagging"),
    ("GetBucketLoggingResponse", "BucketLoggingStatus"),
];

/// The document with moto's root element renamed to S3's, when it is one of [`ROOTS`].
pub fn s3_root(body: &str) -> Option<String> {
    let (moto, s3) = ROOTS
        .iter()
        .find(|(moto, _)| body.contains(&format!("<{moto}")))?;
    Some(
        body.replacen(&format!("<{moto}"), &format!("<{s3}"), 1)
            .replacen(&format!("</{moto}>"), &format!("</{s3}>"), 1),
    )
}

#[derive(Debug)]
struct Client(SharedHttpClient);

#[derive(Debug)]
struct Connector(SharedHttpConnector);

impl HttpClient for Client {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector(self.0.http_connector(settings, components)))
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.0.clone();
        HttpConnectorFuture::new(async move {
            let mut response = inner.call(request).await?;
            let body = response.take_body();
            let bytes = ByteStream::new(body)
                .collect()
                .await
                .map_err(|e| aws_smithy_runtime_api::client::result::ConnectorError::io(e.into()))?
                .into_bytes();
            let fixed = std::str::from_utf8(&bytes).ok().and_then(s3_root);
            if let Some(text) = &fixed {
                response
                    .headers_mut()
                    .insert("content-length", text.len().to_string());
            }
            *response.body_mut() = match fixed {
                Some(text) => SdkBody::from(text),
                None => SdkBody::from(bytes),
            };
            Ok(response)
        })
    }
}

/// An S3 client of `region` against moto at `endpoint` (path-style, test credentials).
pub async fn client(endpoint: &str, region: &str) -> aws_sdk_s3::Client {
    let conf = super::sdk_config(endpoint, region);
    let http = aws_smithy_http_client::Builder::new().build_http();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .http_client(SharedHttpClient::new(Client(http)))
            .build(),
    )
}
