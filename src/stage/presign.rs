//! `provision presign PROJECT VERSION --expires DURATION`: a presigned GET URL for the
//! artifact in the first region (failover order) that has it.
//!
//! The expiry is required and at most 7 days (SigV4's limit). A URL signed with temporary
//! credentials stops working when they expire, whatever its own expiry: that is warned about.

use super::resolve::{self, StagingTarget};
use super::versions::{parse_wanted, resolve_version};
use super::{RegionError, StageError};
use crate::aws::SdkResultExt;
use crate::cli::PresignArgs;
use crate::context::Context;
use crate::exit::Exit;
use crate::startifact::layout;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use schemars::JsonSchema;
use serde::Serialize;
use std::time::{Duration, SystemTime};

/// SigV4 presigned URLs live at most a week.
pub const MAX_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Parses `--expires` (`15m`, `12h`, `7d`, `1h 30m`).
pub fn parse_expiry(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("--expires `{text}` is not a duration ({e}); e.g. 15m, 12h, 7d"))?;
    if d < Duration::from_secs(1) {
        return Err(format!("--expires `{text}` is shorter than a second"));
    }
    if d > MAX_EXPIRY {
        return Err(format!(
            "--expires `{text}` is longer than 7 days, the most a presigned URL allows"
        ));
    }
    Ok(d)
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Presigned {
    url: String,
    project: String,
    version: String,
    region: String,
    bucket: String,
    key: String,
    expires_in_seconds: u64,
    expires_at: String,
}

impl crate::document::Document for Presigned {
    const KIND: &'static str = "presign";
}

pub async fn cmd_presign(ctx: &Context, args: &PresignArgs) -> Result<Exit, StageError> {
    layout::check_project(&args.project).map_err(StageError::Input)?;
    let wanted = parse_wanted(&args.version)?;
    let expires = parse_expiry(&args.expires).map_err(StageError::Input)?;
    let target = resolve::resolve(ctx, &args.staging).await?;
    let version = resolve_version(&target, &args.project, wanted).await?;
    let key = target.layout.artifact_key(&args.project, &version);
    let config = PresigningConfig::expires_in(expires)
        .map_err(|e| StageError::Input(format!("--expires: {e}")))?;
    let mut failures = Vec::new();
    let mut found = None;
    for region in target.read_order() {
        match presign_in(&target, &region, &key, &config).await {
            Ok((bucket, url)) => {
                found = Some((region, bucket, url));
                break;
            }
            Err(why) => failures.push((region, why)),
        }
    }
    let Some((region, bucket, url)) = found else {
        return Err(StageError::Unavailable {
            what: format!("cannot presign {} {} in any region", args.project, version),
            failures,
        });
    };
    let expires_at = SystemTime::now() + expires;
    warn_if_credentials_expire_first(ctx, &target, expires_at).await;
    let out = Presigned {
        url,
        project: args.project.clone(),
        version: version.to_string(),
        region,
        bucket,
        key,
        expires_in_seconds: expires.as_secs(),
        expires_at: fmt_time(expires_at),
    };
    ctx.ui.status(format!(
        "{} {} in {}, valid until {}",
        out.project, out.version, out.region, out.expires_at
    ));
    ctx.ui.emit(&out, || out.url.clone())?;
    Ok(Exit::Success)
}

/// Presigns the artifact in one region, once it is known to be there: the bucket and the URL.
async fn presign_in(
    target: &StagingTarget,
    region: &str,
    key: &str,
    config: &PresigningConfig,
) -> Result<(String, String), RegionError> {
    let bucket = target.bucket(region).await?;
    let s3 = target.s3_read(region);
    s3.head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .classify("s3:HeadObject", &s3)
        .map_err(|e| {
            if e.is_not_found() {
                RegionError::not_found(e, &bucket, key)
            } else {
                RegionError::Request(e)
            }
        })?;
    let req = s3
        .get_object()
        .bucket(&bucket)
        .key(key)
        .presigned(config.clone())
        .await
        .classify("s3:GetObject", &s3)
        .map_err(RegionError::Request)?;
    Ok((bucket, req.uri().to_string()))
}

/// A URL signed with temporary credentials stops working when they expire: say so.
async fn warn_if_credentials_expire_first(
    ctx: &Context,
    target: &StagingTarget,
    expires_at: SystemTime,
) {
    if let Some(provider) = target.clients.credentials_provider()
        && let Ok(creds) = provider.provide_credentials().await
        && let Some(creds_expiry) = creds.expiry()
        && creds_expiry < expires_at
    {
        ctx.ui.warn(format!(
            "the URL is signed with temporary credentials that expire at {}: it stops working then, before its own expiry",
            fmt_time(creds_expiry)
        ));
    }
}

fn fmt_time(t: SystemTime) -> String {
    DateTime::from(t)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_required_to_be_sane() {
        assert_eq!(parse_expiry("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_expiry("7d").unwrap(), MAX_EXPIRY);
        assert_eq!(parse_expiry("1h 30m").unwrap(), Duration::from_secs(5400));
        assert!(
            parse_expiry("7d 1s")
                .unwrap_err()
                .contains("longer than 7 days")
        );
        assert!(parse_expiry("8d").is_err());
        assert!(parse_expiry("0s").unwrap_err().contains("shorter"));
        assert!(parse_expiry("soon").unwrap_err().contains("not a duration"));
        assert!(parse_expiry("").is_err());
    }
}
