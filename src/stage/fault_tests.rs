//! Whole staging commands against a fake AWS whose regions fail on demand: the claim order of
//! `stage` when the claim write fails, regions that throttle or do not answer, and the
//! failover of `download`.

use super::digest::digest_file;
use crate::cli::Command;
use crate::context::Environment;
use crate::exit::Exit;
use crate::testing::{FakeAws, Gate, context, json_error, s3_error};
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
use aws_sdk_ssm::types::Parameter;
use aws_smithy_mocks::{Rule, mock};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

const KEY: &str = "app@1.0.0";
const BYTES: &[u8] = b"artifact bytes";

fn org_config(regions: &[&str]) -> String {
    format!(
        r#"{{"bucket_key_prefix": "", "bucket_name_param": "/buckets/staging", "parameter_name_prefix": "/artifacts", "regions": "{}", "save_ok": "y"}}"#,
        regions.join(",")
    )
}

fn parameter(name: &'static str, value: String) -> Rule {
    mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(move |r| r.name() == Some(name))
        .then_output(move || {
            GetParameterOutput::builder()
                .parameter(Parameter::builder().name(name).value(&value).build())
                .build()
        })
}

fn no_parameter(name: &'static str) -> Rule {
    mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(move |r| r.name() == Some(name))
        .then_http_response(|| json_error(400, "ParameterNotFound", "not found"))
}

fn sha256() -> String {
    digest_file(
        artifact().path(),
        BYTES.len() as u64,
        &AtomicBool::new(false),
    )
    .expect("digest")
    .hex()
}

fn artifact() -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().expect("temporary file");
    std::fs::write(f.path(), BYTES).expect("write the artifact");
    f
}

/// One region's answers to a stage that goes well; `writes` records the order of the
/// artifact's conditional writes across regions.
struct StagingRegion {
    name: &'static str,
    put: Rule,
    metadata: Rule,
    latest: Rule,
    rest: Vec<Rule>,
}

impl StagingRegion {
    fn new(name: &'static str, all: &[&str], writes: &Arc<Mutex<Vec<&'static str>>>) -> Self {
        let log = writes.clone();
        let put = mock!(aws_sdk_s3::Client::put_object)
            .match_requests(move |r| {
                let ours = r.key() == Some(KEY) && r.if_none_match() == Some("*");
                if ours {
                    log.lock().expect("log").push(name);
                }
                ours
            })
            .then_output(|| PutObjectOutput::builder().build());
        let sha = sha256();
        // Absent when checked; ours when the claim reads it back.
        let head = mock!(aws_sdk_s3::Client::head_object)
            .match_requests(|r| r.key() == Some(KEY))
            .sequence()
            .http_status(404, None)
            .output(move || {
                HeadObjectOutput::builder()
                    .metadata("sha256", &sha)
                    .content_length(BYTES.len() as i64)
                    .build()
            })
            .repeatedly()
            .build();
        StagingRegion {
            name,
            put,
            metadata: mock!(aws_sdk_s3::Client::put_object)
                .match_requests(|r| r.key() == Some("app@1.0.0/metadata"))
                .then_output(|| PutObjectOutput::builder().build()),
            latest: mock!(aws_sdk_ssm::Client::put_parameter)
                .match_requests(|r| r.name() == Some("/artifacts/app/latest"))
                .then_output(|| PutParameterOutput::builder().build()),
            rest: vec![
                parameter("/startifact", org_config(all)),
                parameter("/buckets/staging", format!("bucket-{name}")),
                head,
                no_parameter("/artifacts/app/latest"),
            ],
        }
    }

    /// The answers, `first` before the healthy ones (the first matching rule answers).
    fn answers(&self, first: &[&Rule]) -> Vec<Rule> {
        let mut all: Vec<Rule> = first.iter().map(|r| (*r).clone()).collect();
        all.extend([self.put.clone(), self.metadata.clone(), self.latest.clone()]);
        all.extend(self.rest.iter().cloned());
        all
    }
}

fn fake(regions: &[(&StagingRegion, Vec<Rule>)]) -> FakeAws {
    regions.iter().fold(FakeAws::new(), |fake, (r, rules)| {
        fake.answers(r.name, &rules.iter().collect::<Vec<_>>())
    })
}

async fn stage(aws: FakeAws, bootstrap: &str) -> Exit {
    stage_with(aws, bootstrap, &[]).await
}

async fn stage_with(aws: FakeAws, bootstrap: &str, extra: &[&str]) -> Exit {
    stage_file(aws, bootstrap, extra, artifact())
        .await
        .expect("the stage runs")
}

async fn stage_file(
    aws: FakeAws,
    bootstrap: &str,
    extra: &[&str],
    file: tempfile::NamedTempFile,
) -> Result<Exit, super::StageError> {
    let path = file.path().to_str().expect("UTF-8 path").to_string();
    let mut argv = vec!["stage", "app", "1.0.0", &path, "--region", bootstrap];
    argv.extend_from_slice(extra);
    let Command::Stage(args) = crate::testing::command(&argv) else {
        unreachable!("a stage command")
    };
    // The default configuration file, absent from the crate's directory: none is needed.
    let ctx = context(Path::new("provision.yaml"), aws, Environment::default());
    super::cmd_stage(&ctx, &args).await
}

#[tokio::test]
async fn a_claim_write_answered_with_500_moves_the_claim_to_the_next_region() {
    let all = ["eu-north-1", "eu-west-1", "us-east-1"];
    let writes = Arc::new(Mutex::new(Vec::new()));
    let [north, west, east] = all.map(|r| StagingRegion::new(r, &all, &writes));
    let log = writes.clone();
    let refused = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(move |r| {
            let ours = r.key() == Some(KEY);
            if ours {
                log.lock().expect("log").push("eu-north-1: 500");
            }
            ours
        })
        .then_http_response(|| s3_error(500, "InternalError"));
    let aws = fake(&[
        (&north, north.answers(&[&refused])),
        (&west, west.answers(&[])),
        (&east, east.answers(&[])),
    ]);
    assert_eq!(stage(aws, "eu-west-1").await, Exit::Failure);
    // Claim order (the configuration's): eu-north-1 fails, eu-west-1 claims, then the rest.
    assert_eq!(
        *writes.lock().unwrap(),
        ["eu-north-1: 500", "eu-west-1", "us-east-1"]
    );
    assert_eq!(
        north.metadata.num_calls(),
        0,
        "no metadata where the write failed"
    );
    assert_eq!(north.latest.num_calls(), 0);
    for staged in [&west, &east] {
        assert_eq!(staged.metadata.num_calls(), 1, "{}", staged.name);
        assert_eq!(staged.latest.num_calls(), 1, "{}", staged.name);
    }
}

#[tokio::test]
async fn an_unreachable_and_a_throttling_region_fail_alone_and_the_others_are_staged() {
    let all = ["ap-south-1", "eu-north-1", "eu-west-1", "us-east-1"];
    let writes = Arc::new(Mutex::new(Vec::new()));
    let [_, north, west, east] = all.map(|r| StagingRegion::new(r, &all, &writes));
    let throttled = mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(|r| r.name() == Some("/buckets/staging"))
        .then_http_response(|| json_error(400, "ThrottlingException", "Rate exceeded"));
    let aws = fake(&[
        (&north, north.answers(&[&throttled])),
        (&west, west.answers(&[])),
        (&east, east.answers(&[])),
    ])
    .unreachable("ap-south-1");
    assert_eq!(stage(aws, "eu-west-1").await, Exit::Failure);
    assert_eq!(throttled.num_calls(), 1);
    // The claim goes to the first region that was checked: eu-west-1.
    assert_eq!(*writes.lock().unwrap(), ["eu-west-1", "us-east-1"]);
    assert_eq!(north.put.num_calls(), 0);
}

#[tokio::test]
async fn every_region_answering_stages_everywhere_in_claim_order() {
    let all = ["eu-north-1", "eu-west-1", "us-east-1"];
    let writes = Arc::new(Mutex::new(Vec::new()));
    let [north, west, east] = all.map(|r| StagingRegion::new(r, &all, &writes));
    let aws = fake(&[
        (&north, north.answers(&[])),
        (&west, west.answers(&[])),
        (&east, east.answers(&[])),
    ]);
    assert_eq!(stage(aws, "us-east-1").await, Exit::Success);
    let writes = writes.lock().unwrap().clone();
    assert_eq!(
        writes[0], "eu-north-1",
        "the first configured region claims"
    );
    assert_eq!(writes.len(), 3);
}

#[tokio::test]
async fn the_first_configured_region_claims_not_the_alphabetically_first() {
    let configured = ["us-east-1", "eu-west-1", "eu-north-1"];
    let writes = Arc::new(Mutex::new(Vec::new()));
    let [east, west, north] = configured.map(|r| StagingRegion::new(r, &configured, &writes));
    let aws = fake(&[
        (&north, north.answers(&[])),
        (&west, west.answers(&[])),
        (&east, east.answers(&[])),
    ]);
    assert_eq!(stage(aws, "eu-west-1").await, Exit::Success);
    let writes = writes.lock().unwrap().clone();
    assert_eq!(writes[0], "us-east-1", "the claim: {writes:?}");
    assert_eq!(writes.len(), 3);
}

#[tokio::test]
async fn a_single_put_claims_without_waiting_for_the_farthest_regions_check() {
    let all = ["eu-west-1", "us-east-1", "ap-southeast-2"];
    let writes = Arc::new(Mutex::new(Vec::new()));
    let [west, east, far] = all.map(|r| StagingRegion::new(r, &all, &writes));
    // Every answer of ap-southeast-2 (its bucket name first) is held until the claim's
    // write in eu-west-1 is sent.
    let gate = Arc::new(Gate::default());
    let (opener, log) = (gate.clone(), writes.clone());
    let claim = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(move |r| {
            let ours = r.key() == Some(KEY) && r.if_none_match() == Some("*");
            if ours {
                log.lock().expect("log").push("eu-west-1");
                opener.open();
            }
            ours
        })
        .then_output(|| PutObjectOutput::builder().build());
    let aws = fake(&[(&west, west.answers(&[&claim])), (&east, east.answers(&[]))]).held(
        far.name,
        &far.answers(&[]).iter().collect::<Vec<_>>(),
        gate.clone(),
    );
    assert_eq!(stage(aws, "eu-west-1").await, Exit::Success);
    assert_eq!(
        gate.overdue(),
        0,
        "the claim waited for ap-southeast-2's check"
    );
    let writes = writes.lock().unwrap().clone();
    assert_eq!(writes[0], "eu-west-1", "the claim: {writes:?}");
    assert_eq!(writes.len(), 3, "{writes:?}");
    assert_eq!(far.latest.num_calls(), 1, "ap-southeast-2 staged in full");
}

/// A write of `KEY` refused with 412 in `region`, logged in `writes` as "REGION: 412", and
/// the object that is there (its `x-amz-meta-sha256`), logged as "REGION: head" when read.
fn refused_write(
    region: &'static str,
    sha: String,
    writes: &Arc<Mutex<Vec<String>>>,
) -> (Rule, Rule) {
    let log = writes.clone();
    let put = mock!(aws_sdk_s3::Client::put_object)
        .match_requests(move |r| {
            let ours = r.key() == Some(KEY) && r.if_none_match() == Some("*");
            if ours {
                log.lock().expect("log").push(format!("{region}: 412"));
            }
            ours
        })
        .then_http_response(|| s3_error(412, "PreconditionFailed"));
    let log = writes.clone();
    let head = mock!(aws_sdk_s3::Client::head_object)
        .match_requests(move |r| {
            log.lock().expect("log").push(format!("{region}: head"));
            r.key() == Some(KEY)
        })
        .then_output(move || {
            HeadObjectOutput::builder()
                .metadata("sha256", &sha)
                .content_length(BYTES.len() as i64)
                .build()
        });
    (put, head)
}

/// Proposal 3f (docs/performance.md): outside the claim region a small artifact's object is
/// not read before the write; the conditional `PutObject` is the check, and a refused one is
/// inspected as after a lost race: the same bytes count as staged, other bytes fail the
/// region (the claim region, written first, stays staged).
#[tokio::test]
async fn outside_the_claim_region_the_conditional_put_is_the_check() {
    let all = ["eu-north-1", "eu-west-1", "us-east-1"];
    let writes = Arc::new(Mutex::new(Vec::new()));
    let [north, west, east] = all.map(|r| StagingRegion::new(r, &all, &writes));
    let log = Arc::new(Mutex::new(Vec::new()));
    let (same_put, same_head) = refused_write("eu-west-1", sha256(), &log);
    let (other_put, other_head) = refused_write("us-east-1", "0".repeat(64), &log);
    let aws = fake(&[
        (&north, north.answers(&[])),
        (&west, west.answers(&[&same_put, &same_head])),
        (&east, east.answers(&[&other_put, &other_head])),
    ]);
    assert_eq!(stage(aws, "eu-west-1").await, Exit::Failure);
    assert_eq!(*writes.lock().unwrap(), ["eu-north-1"], "the claim");
    let log = log.lock().unwrap().clone();
    for region in ["eu-west-1", "us-east-1"] {
        let refused = format!("{region}: 412");
        let head = format!("{region}: head");
        assert_eq!(
            log.iter().filter(|l| **l == head).count(),
            1,
            "{region}: one HeadObject, after the refused write: {log:?}"
        );
        let at = |l: &str| log.iter().position(|x| x == l);
        assert!(at(&refused) < at(&head), "{region}: {log:?}");
    }
    // The same bytes: staged (metadata and `latest` follow); other bytes: nothing more there.
    for staged in [&north, &west] {
        assert_eq!(staged.metadata.num_calls(), 1, "{}", staged.name);
        assert_eq!(staged.latest.num_calls(), 1, "{}", staged.name);
    }
    assert_eq!(east.metadata.num_calls(), 0);
    assert_eq!(east.latest.num_calls(), 0);
}

/// Proposal 3e: with a copy, the claim region's parts go up while the other regions are
/// still being checked; other bytes found in one of them abort that upload before it is
/// completed, so nothing becomes visible anywhere.
#[tokio::test]
async fn a_conflict_found_while_the_claim_regions_parts_go_up_aborts_them() {
    use aws_sdk_s3::operation::abort_multipart_upload::AbortMultipartUploadOutput;
    use aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput;
    use aws_sdk_s3::operation::create_multipart_upload::CreateMultipartUploadOutput;
    use aws_sdk_s3::operation::upload_part::UploadPartOutput;
    let all = ["eu-north-1", "eu-west-1", "us-east-1"];
    let writes = Arc::new(Mutex::new(Vec::new()));
    let [north, west, east] = all.map(|r| StagingRegion::new(r, &all, &writes));
    let create = mock!(aws_sdk_s3::Client::create_multipart_upload)
        .match_requests(|r| r.key() == Some(KEY))
        .then_output(|| {
            CreateMultipartUploadOutput::builder()
                .upload_id("u1")
                .build()
        });
    let part = mock!(aws_sdk_s3::Client::upload_part)
        .match_requests(|r| r.upload_id() == Some("u1"))
        .sequence()
        .output(|| UploadPartOutput::builder().e_tag("\"p\"").build())
        .repeatedly()
        .build();
    let complete = mock!(aws_sdk_s3::Client::complete_multipart_upload)
        .then_output(|| CompleteMultipartUploadOutput::builder().build());
    let abort = mock!(aws_sdk_s3::Client::abort_multipart_upload)
        .match_requests(|r| r.upload_id() == Some("u1"))
        .then_output(|| AbortMultipartUploadOutput::builder().build());
    let other = mock!(aws_sdk_s3::Client::head_object)
        .match_requests(|r| r.key() == Some(KEY))
        .then_output(|| {
            HeadObjectOutput::builder()
                .metadata("sha256", "0".repeat(64))
                .build()
        });
    let aws = fake(&[
        (&north, north.answers(&[&create, &part, &complete, &abort])),
        (&west, west.answers(&[&other])),
        (&east, east.answers(&[])),
    ]);
    let big = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(big.path(), vec![7u8; 17 << 20]).expect("write");
    let refused = stage_file(aws, "eu-west-1", &["--copy"], big).await;
    let Err(super::StageError::Conflict { regions, .. }) = refused else {
        panic!("other bytes in eu-west-1 stop the stage: {refused:?}");
    };
    assert_eq!(regions.len(), 1);
    assert_eq!(regions[0].0, "eu-west-1");
    // Started during the check (before 3e nothing was started once a check found a
    // conflict), never completed, aborted. (The fake AWS does not read request bodies, so a
    // part here ends as "not sent in full" and the upload is aborted by its own failure.)
    assert_eq!(create.num_calls(), 1, "the claim region's upload started");
    assert!(part.num_calls() >= 1);
    assert_eq!(complete.num_calls(), 0, "nothing completed");
    assert_eq!(abort.num_calls(), 1, "the upload is aborted");
    assert!(writes.lock().unwrap().is_empty());
    for r in [&north, &west, &east] {
        assert_eq!(
            r.metadata.num_calls() + r.latest.num_calls(),
            0,
            "{}",
            r.name
        );
    }
}

/// A dry run writes nothing, so every region's object is read.
#[tokio::test]
async fn a_dry_run_reads_the_object_in_every_region() {
    let all = ["eu-north-1", "eu-west-1", "us-east-1"];
    let writes = Arc::new(Mutex::new(Vec::new()));
    let [north, west, east] = all.map(|r| StagingRegion::new(r, &all, &writes));
    let heads: Vec<Rule> = all
        .iter()
        .map(|_| {
            mock!(aws_sdk_s3::Client::head_object)
                .match_requests(|r| r.key() == Some(KEY))
                .then_http_response(|| s3_error(404, "NotFound"))
        })
        .collect();
    let aws = fake(&[
        (&north, north.answers(&[&heads[0]])),
        (&west, west.answers(&[&heads[1]])),
        (&east, east.answers(&[&heads[2]])),
    ]);
    assert_eq!(
        stage_with(aws, "eu-west-1", &["--dry-run"]).await,
        Exit::Success
    );
    for (region, head) in all.iter().zip(&heads) {
        assert_eq!(head.num_calls(), 1, "{region}");
    }
    assert!(writes.lock().unwrap().is_empty());
}

/// One region's answers to a download of `KEY`.
fn download_region(name: &str, all: &[&str]) -> Vec<Rule> {
    let sha = sha256();
    let doc = format!(r#"{{"provision:sha256": "{sha}"}}"#);
    vec![
        parameter("/startifact", org_config(all)),
        parameter("/buckets/staging", format!("bucket-{name}")),
        mock!(aws_sdk_s3::Client::get_object)
            .match_requests(|r| r.key() == Some("app@1.0.0/metadata"))
            .then_output(move || {
                GetObjectOutput::builder()
                    .body(ByteStream::from(doc.clone().into_bytes()))
                    .e_tag("\"m1\"")
                    .build()
            }),
        mock!(aws_sdk_s3::Client::get_object)
            .match_requests(|r| r.key() == Some(KEY))
            .then_output(|| {
                GetObjectOutput::builder()
                    .body(ByteStream::from_static(BYTES))
                    .content_length(BYTES.len() as i64)
                    .build()
            }),
    ]
}

async fn download(aws: FakeAws, preferred: &str, regions: &str) -> super::download::Downloaded {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("app.tgz");
    let Command::Download(args) = crate::testing::command(&[
        "download",
        "app",
        "1.0.0",
        out.to_str().expect("UTF-8 path"),
        "--region",
        preferred,
    ]) else {
        unreachable!("a download command")
    };
    let env = Environment {
        startifact_regions: Some(regions.to_string()),
        ..Environment::default()
    };
    let ctx = context(Path::new("provision.yaml"), aws, env);
    let done = super::download::download(&ctx, &args)
        .await
        .expect("downloaded from a region that answers");
    assert_eq!(std::fs::read(&out).expect("the download"), BYTES);
    done
}

#[tokio::test]
async fn download_fails_over_from_an_unreachable_preferred_region() {
    let all = ["eu-west-1", "us-east-1"];
    let aws = FakeAws::new().unreachable("eu-west-1").answers(
        "us-east-1",
        &download_region("us-east-1", &all)
            .iter()
            .collect::<Vec<_>>(),
    );
    let done = download(aws, "eu-west-1", "eu-west-1,us-east-1").await;
    assert_eq!(done.region, "us-east-1");
    assert_eq!(done.skipped.len(), 1);
    assert_eq!(done.skipped[0].region, "eu-west-1");
    assert!(
        done.skipped[0].error.contains("cannot connect"),
        "{}",
        done.skipped[0].error
    );
}

#[tokio::test]
async fn download_fails_over_from_a_region_that_throttles_the_read() {
    let all = ["eu-west-1", "us-east-1"];
    let slow_down = mock!(aws_sdk_s3::Client::get_object)
        .match_requests(|r| r.key() == Some(KEY))
        .then_http_response(|| s3_error(503, "SlowDown"));
    let mut west = vec![slow_down.clone()];
    west.extend(download_region("eu-west-1", &all));
    let aws = FakeAws::new()
        .answers("eu-west-1", &west.iter().collect::<Vec<_>>())
        .answers(
            "us-east-1",
            &download_region("us-east-1", &all)
                .iter()
                .collect::<Vec<_>>(),
        );
    let done = download(aws, "eu-west-1", "eu-west-1,us-east-1").await;
    assert_eq!(slow_down.num_calls(), 1);
    assert_eq!(done.region, "us-east-1");
    assert!(
        done.skipped[0].error.contains("SlowDown"),
        "{}",
        done.skipped[0].error
    );
}
