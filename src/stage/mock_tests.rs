//! SDK call sequences the emulator does not produce on demand: a conditional write refused
//! with 409 (a concurrent conditional write in flight), a failed multipart completion, a
//! multipart copy (objects over 5 GiB), a metadata document changed between read and
//! write, throttling.

use super::digest::{FileDigest, digest_file};
use super::meta::{self, MetadataOutcome};
use super::upload::{self, Artifact, Committed, Pending};
use crate::aws::ErrorKind;
use crate::testing::{self, REGION, json_error, s3_error};
use aws_sdk_s3::operation::abort_multipart_upload::AbortMultipartUploadOutput;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_mocks::{Rule, mock};
use serde_json::json;
use std::sync::atomic::AtomicBool;

fn s3(rules: &[&Rule]) -> aws_sdk_s3::Client {
    testing::clients(rules).s3(REGION)
}

fn ssm(rules: &[&Rule]) -> aws_sdk_ssm::Client {
    testing::clients(rules).ssm(REGION)
}

fn small_file() -> (tempfile::NamedTempFile, FileDigest) {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), b"artifact bytes").unwrap();
    let d = digest_file(f.path(), 14, &AtomicBool::new(false)).unwrap();
    (f, d)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_refused_conditional_put_is_preempted_and_other_failures_are_errors() {
    let (f, d) = small_file();
    let a = Artifact {
        path: f.path(),
        digest: &d,
        key: "app@1.0.0",
    };
    for (status, code, expected) in [
        (412, "PreconditionFailed", Some(Committed::Preempted)),
        (
            409,
            "ConditionalRequestConflict",
            Some(Committed::Preempted),
        ),
        (503, "SlowDown", None),
    ] {
        let put = mock!(aws_sdk_s3::Client::put_object)
            .match_requests(|r| r.if_none_match() == Some("*") && r.checksum_sha256().is_some())
            .then_http_response(move || s3_error(status, code));
        let client = s3(&[&put]);
        let got = rt().block_on(upload::put_single(&client, "bkt", a));
        match expected {
            Some(c) => assert_eq!(got, Ok(c), "{status}"),
            None => {
                let err = got.unwrap_err();
                assert!(err.to_string().contains("SlowDown"), "{status}: {err}");
                assert_eq!(err.aws().map(|e| e.kind), Some(ErrorKind::Throttled));
            }
        }
        assert_eq!(put.num_calls(), 1);
    }
}

#[test]
fn a_multipart_upload_is_aborted_when_its_completion_is_refused_or_fails() {
    for (status, code) in [(412, "PreconditionFailed"), (500, "InternalError")] {
        let complete = mock!(aws_sdk_s3::Client::complete_multipart_upload)
            .match_requests(|r| r.if_none_match() == Some("*") && r.upload_id() == Some("u1"))
            .then_http_response(move || s3_error(status, code));
        let abort = mock!(aws_sdk_s3::Client::abort_multipart_upload)
            .match_requests(|r| r.upload_id() == Some("u1"))
            .then_output(|| AbortMultipartUploadOutput::builder().build());
        let client = s3(&[&complete, &abort]);
        let pending = Pending {
            s3: client,
            bucket: "bkt".into(),
            key: "app@1.0.0".into(),
            upload_id: "u1".into(),
            parts: Vec::new(),
            on_signal: None,
        };
        let got = rt().block_on(upload::complete(&pending, "upload"));
        if status == 412 {
            assert_eq!(got, Ok(Committed::Preempted));
        } else {
            let err = got.unwrap_err();
            assert!(err.to_string().contains("InternalError"), "{err}");
            assert_eq!(err.aws().map(|e| e.kind), Some(ErrorKind::ServerError));
        }
        assert_eq!(abort.num_calls(), 1, "aborted after {status}");
    }
}

fn metadata_rules(existing: serde_json::Value) -> (Rule, Rule, Rule) {
    let create = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(|r| r.if_none_match() == Some("*"))
        .then_http_response(|| s3_error(412, "PreconditionFailed"));
    let body = existing.to_string();
    let get = mock!(aws_sdk_s3::Client::get_object)
        .match_requests(|r| r.key() == Some("app@1.0.0/metadata"))
        .then_output(move || {
            GetObjectOutput::builder()
                .body(ByteStream::from(body.clone().into_bytes()))
                .e_tag("\"e1\"")
                .build()
        });
    let rewrite = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(|r| r.if_match() == Some("\"e1\""))
        .then_output(|| PutObjectOutput::builder().build());
    (create, get, rewrite)
}

#[test]
fn existing_metadata_gets_missing_keys_under_its_etag_and_keeps_its_own() {
    let (create, get, rewrite) =
        metadata_rules(json!({"startifact:filename": "a.tgz", "team": "x"}));
    let client = s3(&[&create, &get, &rewrite]);
    let mut ours = crate::startifact::layout::Metadata::new();
    ours.insert("provision:sha256".into(), "ab".repeat(32).into());
    ours.insert("startifact:filename".into(), "a.tgz".into());
    let got = rt().block_on(meta::stage(&client, "bkt", "app@1.0.0", &ours));
    assert_eq!(got, Ok(MetadataOutcome::Merged));
    assert_eq!(rewrite.num_calls(), 1);
}

#[test]
fn existing_metadata_that_disagrees_is_an_error_and_not_rewritten() {
    let (create, get, rewrite) = metadata_rules(json!({"provision:sha256": "cd".repeat(32)}));
    let client = s3(&[&create, &get, &rewrite]);
    let mut ours = crate::startifact::layout::Metadata::new();
    ours.insert("provision:sha256".into(), "ab".repeat(32).into());
    let err = rt()
        .block_on(meta::stage(&client, "bkt", "app@1.0.0", &ours))
        .unwrap_err();
    assert!(
        err.to_string().contains("already has `provision:sha256`"),
        "{err}"
    );
    assert_eq!(rewrite.num_calls(), 0);
}

#[test]
fn a_missing_parameter_is_none_and_throttling_is_an_error() {
    let missing = mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(|r| r.name() == Some("/missing"))
        .then_http_response(|| json_error(400, "ParameterNotFound", "not found"));
    let throttled = mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(|r| r.name() == Some("/busy"))
        .then_http_response(|| json_error(400, "ThrottlingException", "Rate exceeded"));
    let client = ssm(&[&missing, &throttled]);
    let rt = rt();
    assert_eq!(
        rt.block_on(crate::aws::ssm::get_parameter(&client, "/missing")),
        Ok(None)
    );
    let err = rt
        .block_on(crate::aws::ssm::get_parameter(&client, "/busy"))
        .unwrap_err();
    assert!(err.to_string().contains("ThrottlingException"), "{err}");
    assert_eq!(err.kind, ErrorKind::Throttled);
    assert_eq!(err.operation, "ssm:GetParameter");
}

/// A copy larger than one `CopyObject` (6 GiB: twelve 512 MiB ranges): part copies, then a
/// completion with `If-None-Match: *`; a part copy that fails aborts the upload instead.
#[test]
fn a_multipart_copy_completes_conditionally_and_is_aborted_when_a_part_fails() {
    use super::copy::{Source, copy_object};
    use aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput;
    use aws_sdk_s3::operation::create_multipart_upload::CreateMultipartUploadOutput;
    use aws_sdk_s3::operation::upload_part_copy::UploadPartCopyOutput;
    use aws_sdk_s3::types::CopyPartResult;
    const SHA: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
    let source = Source {
        bucket: "src-bkt",
        key: "app@1.0.0",
        size: 6 << 30,
        sha256_hex: SHA,
    };
    for part_fails in [false, true] {
        let create = mock!(aws_sdk_s3::Client::create_multipart_upload)
            .match_requests(|r| {
                r.bucket() == Some("dst-bkt")
                    && r.metadata()
                        .and_then(|m| m.get("sha256"))
                        .map(String::as_str)
                        == Some(SHA)
            })
            .then_output(|| {
                CreateMultipartUploadOutput::builder()
                    .upload_id("u1")
                    .build()
            });
        let copy_part = if part_fails {
            mock!(aws_sdk_s3::Client::upload_part_copy)
                .then_http_response(|| s3_error(500, "InternalError"))
        } else {
            mock!(aws_sdk_s3::Client::upload_part_copy)
                .match_requests(|r| {
                    r.upload_id() == Some("u1") && r.copy_source() == Some("src-bkt/app%401.0.0")
                })
                .then_output(|| {
                    UploadPartCopyOutput::builder()
                        .copy_part_result(CopyPartResult::builder().e_tag("\"e\"").build())
                        .build()
                })
        };
        let complete = mock!(aws_sdk_s3::Client::complete_multipart_upload)
            .match_requests(|r| {
                r.if_none_match() == Some("*")
                    && r.upload_id() == Some("u1")
                    && r.multipart_upload().map(|u| u.parts().len()) == Some(12)
            })
            .then_output(|| CompleteMultipartUploadOutput::builder().build());
        let abort = mock!(aws_sdk_s3::Client::abort_multipart_upload)
            .match_requests(|r| r.upload_id() == Some("u1"))
            .then_output(|| AbortMultipartUploadOutput::builder().build());
        let client = s3(&[&create, &copy_part, &complete, &abort]);
        let got = rt().block_on(copy_object(
            &client,
            "dst-bkt",
            &source,
            &crate::cancel::Cancel::new(),
        ));
        if part_fails {
            let err = got.unwrap_err().to_string();
            assert!(
                err.starts_with("copying app@1.0.0 from src-bkt: ")
                    && err.contains("InternalError"),
                "{err}"
            );
            assert_eq!(complete.num_calls(), 0);
            assert_eq!(abort.num_calls(), 1);
        } else {
            assert_eq!(got, Ok(Committed::Written));
            assert_eq!(copy_part.num_calls(), 12);
            assert_eq!(complete.num_calls(), 1);
            assert_eq!(abort.num_calls(), 0);
        }
    }
}
