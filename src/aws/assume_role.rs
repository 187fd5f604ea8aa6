//! The credentials of another account: a role there, assumed through STS `AssumeRole` with the
//! source's own credentials, kept until shortly before they expire.

use super::error::{AssumeRoleError, SdkResultExt};
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future};
use std::time::{Duration, SystemTime};

/// The session name of every assumed role: CloudTrail shows `provision` as the caller.
const SESSION_NAME: &str = "provision";

/// Assumed credentials are renewed this long before they expire.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// Credentials of a role in another account, assumed with the source's own credentials and
/// kept until shortly before they expire.
#[derive(Debug)]
pub struct AssumedRole {
    sts: aws_sdk_sts::Client,
    role_arn: String,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

impl AssumedRole {
    /// Assumes `role_arn` through `sts` (a client with the source's own credentials).
    pub fn new(sts: aws_sdk_sts::Client, role_arn: String) -> Self {
        AssumedRole {
            sts,
            role_arn,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && c.expiry()
                .is_none_or(|e| e > SystemTime::now() + RENEW_BEFORE_EXPIRY)
        {
            return Ok(c.clone());
        }
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(SESSION_NAME)
            .send()
            .await
            .classify("sts:AssumeRole", &self.sts)
            .map_err(|error| {
                CredentialsError::provider_error(AssumeRoleError {
                    role_arn: self.role_arn.clone(),
                    error,
                })
            })?;
        let c = out.credentials().ok_or_else(|| {
            CredentialsError::unhandled(format!(
                "sts:AssumeRole of {} returned no credentials",
                self.role_arn
            ))
        })?;
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            SystemTime::try_from(*c.expiration()).ok(),
            "provision-assume-role",
        );
        *cached = Some(credentials.clone());
        Ok(credentials)
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}
