//! The classification of SDK errors, against canned answers of every protocol.

use super::error::*;
use crate::testing::{FakeAws, REGION, clients, json_error, query_error, response, s3_error};
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_mocks::{Rule, mock};

#[tokio::test]
async fn missing_credentials_are_named_as_such_not_as_instance_metadata() {
    // No environment credentials, no profile files, instance metadata disabled: the
    // chain fails before any request leaves the process.
    let conf = aws_sdk_ssm::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(NoCredentials),
        )
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let err = aws_sdk_ssm::Client::from_conf(conf)
        .get_parameter()
        .name("/startifact")
        .send()
        .await
        .expect_err("no credentials");
    let err = AwsError::new("ssm:GetParameter", "eu-west-1", &err);
    assert_eq!(err.kind, ErrorKind::NoCredentials);
    let msg = err.to_string();
    assert!(msg.starts_with("no usable AWS credentials"), "{msg}");
    assert!(msg.contains("--profile"), "{msg}");
    assert!(!err.is_transient());
}

async fn s3_head(rule: Rule) -> AwsError {
    let s3 = clients(&[&rule]).s3(REGION);
    let sent = s3.head_object().bucket("b").key("k").send().await;
    sent.classify("s3:HeadObject", &s3).expect_err("an error")
}

async fn s3_put(rule: Rule) -> AwsError {
    let s3 = clients(&[&rule]).s3(REGION);
    let sent = s3.put_object().bucket("b").key("k").send().await;
    sent.classify("s3:PutObject", &s3).expect_err("an error")
}

async fn ssm_get(rule: Rule) -> AwsError {
    let ssm = clients(&[&rule]).ssm(REGION);
    let sent = ssm.get_parameter().name("/p").send().await;
    sent.classify("ssm:GetParameter", &ssm)
        .expect_err("an error")
}

async fn cf_describe(body: String, status: u16) -> AwsError {
    let rule = mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .then_http_response(move || response(status, body.clone()));
    let cf = clients(&[&rule]).cloudformation(REGION);
    let sent = cf.describe_stacks().stack_name("s").send().await;
    sent.classify("cloudformation:DescribeStacks", &cf)
        .expect_err("an error")
}

/// The kind, and whether the error is transient and an emulator's missing operation.
fn class(e: &AwsError) -> (ErrorKind, bool, bool) {
    (e.kind, e.is_transient(), e.is_unimplemented())
}

#[tokio::test]
async fn s3_answers_are_classified_from_status_and_code() {
    let e =
        s3_head(mock!(aws_sdk_s3::Client::head_object).then_http_response(|| response(404, "")))
            .await;
    assert_eq!(class(&e), (ErrorKind::NotFound, false, false));
    assert_eq!((e.operation, e.region()), ("s3:HeadObject", REGION));
    let e = s3_head(
        mock!(aws_sdk_s3::Client::head_object).then_http_response(|| s3_error(403, "AccessDenied")),
    )
    .await;
    assert_eq!(class(&e), (ErrorKind::AccessDenied, false, false));
    for (status, code) in [
        (412, "PreconditionFailed"),
        (409, "ConditionalRequestConflict"),
    ] {
        let e = s3_put(
            mock!(aws_sdk_s3::Client::put_object)
                .then_http_response(move || s3_error(status, code)),
        )
        .await;
        assert_eq!(class(&e), (ErrorKind::Conflict, false, false), "{code}");
    }
    let e = s3_put(
        mock!(aws_sdk_s3::Client::put_object).then_http_response(|| s3_error(503, "SlowDown")),
    )
    .await;
    assert_eq!(class(&e), (ErrorKind::Throttled, true, false));
}

#[tokio::test]
async fn query_and_json_answers_are_classified_from_their_codes() {
    let e = ssm_get(
        mock!(aws_sdk_ssm::Client::get_parameter)
            .then_http_response(|| json_error(400, "ParameterNotFound", "none")),
    )
    .await;
    assert_eq!(class(&e), (ErrorKind::NotFound, false, false));
    assert_eq!(e.to_string(), "ParameterNotFound: none");
    let missing = query_error("ValidationError", "Stack with id s does not exist");
    assert_eq!(
        class(&cf_describe(missing, 400).await),
        (ErrorKind::NotFound, false, false)
    );
    assert_eq!(
        class(&cf_describe(query_error("ValidationError", "bad"), 400).await),
        (ErrorKind::Other, false, false)
    );
    let e = cf_describe(query_error("Throttling", "Rate exceeded"), 400).await;
    assert_eq!(class(&e), (ErrorKind::Throttled, true, false));
    assert_eq!(
        e.with_operation(),
        "cloudformation:DescribeStacks: Throttling: Rate exceeded"
    );
    assert_eq!(
        class(&cf_describe(query_error("InternalFailure", "again"), 500).await),
        (ErrorKind::ServerError, true, false)
    );
    // moto answers an action it does not implement with an HTML page.
    let moto = "<!doctype html>\n<title>500 Internal Server Error</title>";
    let e = cf_describe(moto.to_string(), 500).await;
    assert_eq!(class(&e), (ErrorKind::ServerError, false, true));
    // A reply that is not AWS's (a proxy's page) says its status and where it came from, not
    // the SDK's `unhandled error`.
    let proxy = "<html><body>502 Bad Gateway</body></html>";
    let e = cf_describe(proxy.to_string(), 502).await;
    assert_eq!(
        e.to_string(),
        format!(
            "HTTP 502 from the cloudformation endpoint of {REGION}, which is not an AWS error reply (a proxy, or an endpoint that is not AWS?)"
        )
    );
    let e = s3_put(
        mock!(aws_sdk_s3::Client::put_object)
            .then_http_response(|| response(407, "Proxy Authentication Required")),
    )
    .await;
    assert!(
        e.to_string().starts_with("HTTP 407 from the s3 endpoint"),
        "{e}"
    );
}

#[tokio::test]
async fn no_answer_is_unreachable_and_transient() {
    let down = FakeAws::new()
        .unreachable(REGION)
        .clients(REGION)
        .s3(REGION);
    let e = down
        .head_object()
        .bucket("b")
        .key("k")
        .send()
        .await
        .classify("s3:HeadObject", &down)
        .expect_err("unreachable");
    assert_eq!(class(&e), (ErrorKind::Unreachable, true, false));
    assert!(e.to_string().starts_with("cannot connect: "), "{e}");
}

#[derive(Debug)]
struct NoCredentials;

impl aws_credential_types::provider::ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::ready(Err(
            CredentialsError::not_loaded(
                "IMDS is disabled or the caller has insufficient permissions",
            ),
        ))
    }
}
