//! One classification of the AWS SDK's errors. Every failed request becomes an [`AwsError`]:
//! what kind of failure it was ([`ErrorKind`]), which operation (`s3:PutObject`) in which
//! region (and account, when not the caller's) met it, and a short description (its
//! `Display`): the service's code and message, or the transport failure with its cause.

use crate::text::escape;
use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What kind of failure an AWS request met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The resource does not exist (404, `NoSuchKey`, `ParameterNotFound`, a missing stack).
    NotFound,
    /// The caller may not do this (403, `AccessDenied`).
    AccessDenied,
    /// The service asks the caller to slow down (429, `Throttling`, `SlowDown`).
    Throttled,
    /// No answer: connection refused, name resolution, timeouts.
    Unreachable,
    /// The credential chain found no usable credentials; no request was sent.
    NoCredentials,
    /// A conditional request lost (412), or met a concurrent one on the same key (409).
    Conflict,
    /// The service failed (5xx).
    ServerError,
    /// Anything else (a validation error, an unexpected answer).
    Other,
}

/// A failed AWS request, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .details.description)]
pub struct AwsError {
    pub kind: ErrorKind,
    /// `service:Operation`, e.g. `s3:PutObject`.
    pub operation: &'static str,
    /// The rest, boxed: errors travel in `Result`s, which should stay small.
    details: Box<Details>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    region: String,
    account: Option<String>,
    code: Option<String>,
    status: Option<u16>,
    message: Option<String>,
    description: String,
}

/// What to say when the credential chain found nothing usable: the SDK's own message only
/// names the last provider it tried (often instance metadata), which misleads on a laptop.
pub const NO_CREDENTIALS: &str = "no usable AWS credentials (pass --profile NAME, set AWS_PROFILE, or \
set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; in CI, assume a role first)";

const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchKey",
    "NotFound",
    "NoSuchBucket",
    "NoSuchUpload",
    "ParameterNotFound",
    "NoSuchEntity",
    "ChangeSetNotFound",
    "ChangeSetNotFoundException",
    "StackSetNotFoundException",
    "StackInstanceNotFoundException",
    "NotFoundException",
    "ResourceNotFoundException",
];
const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
];
const THROTTLED_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
];
/// Server errors worth retrying (AWS's coded ones; a bare 500 from an emulator is not).
const TRANSIENT_SERVER_CODES: &[&str] = &["InternalFailure", "InternalError", "ServiceUnavailable"];

impl AwsError {
    /// Classifies an SDK error of `operation` (`service:Operation`) in `region`.
    pub fn new<E>(operation: &'static str, region: &str, err: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err.code().map(str::to_string);
        if let Some((assume, kind)) = assume_role_failure(err) {
            // The credentials of another account could not be had: say so, as STS did.
            return AwsError {
                kind,
                operation,
                details: Box::new(Details {
                    region: region.to_string(),
                    account: None,
                    code: assume.error.code().map(str::to_string),
                    status: assume.error.status(),
                    message: assume.error.message().map(str::to_string),
                    description: escape(&assume.to_string()).into_owned(),
                }),
            };
        }
        let kind = classify(err, code.as_deref(), status);
        AwsError {
            kind,
            operation,
            details: Box::new(Details {
                region: region.to_string(),
                account: None,
                code,
                status,
                message: err.message().map(str::to_string),
                // The service's message is text the other side chose: never raw on a terminal.
                description: escape(&describe(err)).into_owned(),
            }),
        }
    }

    /// The error of a request made in another account than the caller's.
    pub fn in_account(mut self, account: Option<&str>) -> Self {
        self.details.account = account.map(str::to_string);
        self
    }

    /// The region the request was sent to.
    pub fn region(&self) -> &str {
        &self.details.region
    }

    /// The account the request was made in, when it is not the caller's own.
    pub fn account(&self) -> Option<&str> {
        self.details.account.as_deref()
    }

    /// The service's error code, when it sent one.
    pub fn code(&self) -> Option<&str> {
        self.details.code.as_deref()
    }

    /// The HTTP status, when there was a response.
    pub fn status(&self) -> Option<u16> {
        self.details.status
    }

    /// The service's own error message, when it sent one.
    pub fn message(&self) -> Option<&str> {
        self.details.message.as_deref()
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    /// Worth polling through: throttling, no answer, or a server error AWS says is temporary.
    pub fn is_transient(&self) -> bool {
        matches!(self.kind, ErrorKind::Throttled | ErrorKind::Unreachable)
            || self
                .code()
                .is_some_and(|c| TRANSIENT_SERVER_CODES.contains(&c))
    }

    /// An endpoint that does not implement the operation: a server error without any AWS
    /// error code (moto answers an unimplemented action with an HTML "500 Internal Server
    /// Error" page). AWS itself answers server errors with a coded error, so this never
    /// matches AWS.
    pub fn is_unimplemented(&self) -> bool {
        self.code().is_none() && self.status().is_some_and(|s| s >= 500)
    }

    /// `operation: description`, the form the commands report a region's failure in.
    pub fn with_operation(&self) -> String {
        format!("{}: {}", self.operation, self.details.description)
    }
}

fn classify<E>(
    err: &SdkError<E, HttpResponse>,
    code: Option<&str>,
    status: Option<u16>,
) -> ErrorKind
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::TimeoutError(_) => ErrorKind::Unreachable,
        SdkError::DispatchFailure(_) if credentials_missing(err) => ErrorKind::NoCredentials,
        SdkError::DispatchFailure(_) => ErrorKind::Unreachable,
        _ => {
            let is = |codes: &[&str]| code.is_some_and(|c| codes.contains(&c));
            let message = err.message().unwrap_or_default();
            if status == Some(404)
                || is(NOT_FOUND_CODES)
                // CloudFormation: `ValidationError: Stack with id X does not exist`.
                || code == Some("ValidationError") && message.contains("does not exist")
            {
                ErrorKind::NotFound
            } else if status == Some(403) || is(ACCESS_DENIED_CODES) {
                ErrorKind::AccessDenied
            } else if status == Some(429) || is(THROTTLED_CODES) {
                ErrorKind::Throttled
            } else if matches!(status, Some(409 | 412)) {
                ErrorKind::Conflict
            } else if status.is_some_and(|s| s >= 500) || is(TRANSIENT_SERVER_CODES) {
                ErrorKind::ServerError
            } else {
                ErrorKind::Other
            }
        }
    }
}

/// Whether the credential chain failed: an identity that could not be resolved is reported
/// as a dispatch failure whose cause chain holds the provider's `CredentialsError`.
fn credentials_missing(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = err.source();
    while let Some(s) = source {
        if s.downcast_ref::<CredentialsError>().is_some() {
            return true;
        }
        source = s.source();
    }
    false
}

/// A short description of an SDK error: the service's code and message when there is one,
/// otherwise the transport failure (timeout, connection refused) with its cause. It is what an
/// [`AwsError`] displays; code that classifies a service's own codes (the StackSets driver)
/// uses it directly.
pub fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match err {
        SdkError::ServiceError(e) => {
            let e = e.err();
            match (e.code(), e.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                _ => e.to_string(),
            }
        }
        SdkError::TimeoutError(_) => "timed out".into(),
        SdkError::DispatchFailure(d) => {
            let mut msg = if credentials_missing(err) {
                NO_CREDENTIALS.to_string()
            } else if d.is_io() {
                "cannot connect".to_string()
            } else if d.is_timeout() {
                "timed out connecting".to_string()
            } else {
                "request failed".to_string()
            };
            let mut src: Option<&dyn std::error::Error> = std::error::Error::source(err);
            let mut last = String::new();
            while let Some(s) = src {
                let m = s.to_string();
                if !m.is_empty() && m != last {
                    last = m;
                }
                src = s.source();
            }
            if !last.is_empty() {
                msg.push_str(": ");
                msg.push_str(&last);
            }
            msg
        }
        other => {
            let mut msg = other.to_string();
            if let Some(s) = std::error::Error::source(other) {
                msg = format!("{msg}: {s}");
            }
            msg
        }
    }
}

/// STS refused to let the caller assume a role (or could not be reached). The request that
/// needed the credentials fails with this error, classified as STS answered.
#[derive(Debug, thiserror::Error)]
#[error("cannot assume {role_arn} (sts:AssumeRole): {error}")]
pub struct AssumeRoleError {
    pub role_arn: String,
    pub error: AwsError,
}

/// The kind of an assume-role failure behind a request's error, when that is what failed it.
fn assume_role_failure<'e>(
    err: &'e (dyn std::error::Error + 'static),
) -> Option<(&'e AssumeRoleError, ErrorKind)> {
    let mut source = err.source();
    while let Some(s) = source {
        if let Some(a) = s.downcast_ref::<AssumeRoleError>() {
            return Some((a, a.error.kind));
        }
        source = s.source();
    }
    None
}

/// The region a client sends its requests to (for the errors it meets).
pub trait ClientRegion {
    fn region_name(&self) -> &str;
}

macro_rules! client_region {
    ($($krate:ident),*) => {
        $(impl ClientRegion for $krate::Client {
            fn region_name(&self) -> &str {
                self.config().region().map_or("", |r| r.as_ref())
            }
        })*
    };
}

client_region!(
    aws_sdk_cloudformation,
    aws_sdk_s3,
    aws_sdk_ssm,
    aws_sdk_iam,
    aws_sdk_kms,
    aws_sdk_organizations,
    aws_sdk_sts
);

/// Classifies the error of a request: `client.op().send().await.classify("s3:GetObject", &client)`.
pub trait SdkResultExt<T> {
    fn classify(self, operation: &'static str, client: &impl ClientRegion) -> Result<T, AwsError>;
}

impl<T, E> SdkResultExt<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn classify(self, operation: &'static str, client: &impl ClientRegion) -> Result<T, AwsError> {
        self.map_err(|e| AwsError::new(operation, client.region_name(), &e))
    }
}
