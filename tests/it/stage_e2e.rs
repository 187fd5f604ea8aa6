//! End to end on the emulator: staging and downloading real files across three regions,
//! concurrent stagers, a killed stage, a region outage, and an object changed behind our
//! back. Results are checked through the AWS APIs, not through `provision`.

use crate::support::report::{json, region_report};
use crate::support::snapshot::assert_output_snapshot;
use crate::support::storage::{
    MIB, REGIONS, Storage, random_file, set_up, sha256_file, sha256_hex,
};
use crate::support::{Emulators, output};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn expected_metadata(entries: &[(&str, &str)]) -> String {
    let mut sorted: Vec<_> = entries.to_vec();
    sorted.sort();
    let body: Vec<String> = sorted
        .iter()
        .map(|(k, v)| format!("  \"{k}\": \"{v}\""))
        .collect();
    format!("{{\n{}\n}}", body.join(",\n"))
}

#[test]
fn one_and_a_hundred_mib_go_to_three_regions_and_come_back_identical() {
    let (st, work) = set_up("artifacts/");
    let small = random_file(work.path(), "small.bin", MIB, 1);
    let big = random_file(work.path(), "big.bin", 100 * MIB, 2);
    let (small_sha, big_sha) = (sha256_file(&small), sha256_file(&big));

    // A CI machine: no provision.yaml, only credentials, a region and the parameter name.
    let (code, out, err) = output(
        st.ci(work.path())
            .args(["--output", "json", "stage", "app", "1.0.0"])
            .arg(&small)
            .args(["--metadata", "team=platform", "--filename"]),
    );
    assert_eq!(code, 0, "stage 1 MiB\n{out}\n{err}");
    let report = json(&out);
    assert_eq!(report["staged"], 3);
    let (code, out, err) = output(
        st.ci(work.path())
            .args(["--output", "json", "stage", "app", "1.1.0"])
            .arg(&big)
            .arg("--no-copy"),
    );
    assert_eq!(code, 0, "stage 100 MiB\n{out}\n{err}");
    let report = json(&out);
    assert_eq!(report["staged"], 3);

    let small_meta = expected_metadata(&[
        ("provision:sha256", &small_sha),
        ("startifact:filename", "small.bin"),
        ("team", "platform"),
    ]);
    for region in REGIONS {
        assert_eq!(region_report(&report, region)["upload"], "multipart");
        let bytes = st
            .object(region, "artifacts/app@1.0.0")
            .expect("1.0.0 staged");
        assert_eq!(sha256_hex(&bytes), small_sha, "{region}");
        let meta = st
            .object(region, "artifacts/app@1.0.0/metadata")
            .expect("metadata");
        assert_eq!(String::from_utf8(meta).unwrap(), small_meta, "{region}");
        let bytes = st
            .object(region, "artifacts/app@1.1.0")
            .expect("1.1.0 staged");
        assert_eq!(sha256_hex(&bytes), big_sha, "{region}");
        let meta = st
            .object(region, "artifacts/app@1.1.0/metadata")
            .expect("metadata");
        assert_eq!(
            String::from_utf8(meta).unwrap(),
            expected_metadata(&[("provision:sha256", &big_sha)])
        );
        assert_eq!(
            st.parameter_value(region, &st.latest_param("app"))
                .as_deref(),
            Some("1.1.0")
        );
        assert_eq!(
            st.multipart_uploads(region),
            0,
            "no upload left behind in {region}"
        );
    }

    let back = tempfile::tempdir().unwrap();
    let (code, out, err) = output(
        st.ci(back.path())
            .args(["download", "app", "latest", "big.out"]),
    );
    assert_eq!(code, 0, "download latest\n{out}\n{err}");
    assert_eq!(sha256_file(&back.path().join("big.out")), big_sha);
    let (code, out, err) =
        output(
            st.ci(back.path())
                .args(["download", "app", "1.0.0", ".", "--filename"]),
        );
    assert_eq!(code, 0, "download 1.0.0 --filename\n{out}\n{err}");
    assert_eq!(sha256_file(&back.path().join("small.bin")), small_sha);
    let mut names: Vec<String> = std::fs::read_dir(back.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["big.out", "small.bin"], "no temporary files left");
}

fn concurrent_stagers(count: usize, size: usize) {
    let (st, work) = set_up("");
    let files: Vec<_> = (0..count)
        .map(|i| random_file(work.path(), &format!("f{i}.bin"), size, 100 + i as u64))
        .collect();
    let children: Vec<_> = files
        .iter()
        .map(|f| {
            st.ci(work.path())
                .args(["stage", "race", "3.0.0"])
                .arg(f)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn provision")
        })
        .collect();
    let results: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect();
    let winners: Vec<usize> = (0..count)
        .filter(|i| results[*i].status.code() == Some(0))
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one stager wins: {:?}",
        results
            .iter()
            .map(|r| (
                r.status.code(),
                String::from_utf8_lossy(&r.stderr).into_owned()
            ))
            .collect::<Vec<_>>()
    );
    for (i, r) in results.iter().enumerate() {
        if i != winners[0] {
            let stderr = String::from_utf8_lossy(&r.stderr);
            assert_eq!(r.status.code(), Some(1), "loser {i}: {stderr}");
            assert!(
                stderr.contains("already staged with different content"),
                "loser {i}: {stderr}"
            );
        }
    }
    let winner_sha = sha256_file(&files[winners[0]]);
    for region in REGIONS {
        let bytes = st.object(region, "race@3.0.0").expect("staged");
        assert_eq!(
            sha256_hex(&bytes),
            winner_sha,
            "{region} holds the winner's bytes, intact"
        );
        let meta = String::from_utf8(st.object(region, "race@3.0.0/metadata").unwrap()).unwrap();
        assert_eq!(
            meta,
            expected_metadata(&[("provision:sha256", &winner_sha)])
        );
        assert_eq!(
            st.parameter_value(region, &st.latest_param("race"))
                .as_deref(),
            Some("3.0.0")
        );
        assert_eq!(
            st.multipart_uploads(region),
            0,
            "losers aborted their uploads in {region}"
        );
    }
}

#[test]
fn eight_concurrent_stagers_of_one_version_one_wins_and_the_object_is_intact() {
    concurrent_stagers(8, MIB);
}

/// Outside the claim region a small artifact's object is not read before the write: the
/// conditional `PutObject` is the check (docs/commands/stage.md). Other bytes put there
/// outside `provision` are found by the refused write (412): that region fails, naming the
/// region and the object, and keeps its bytes, with no metadata or `latest`; the same bytes
/// found that way count as staged; the claim region is staged.
#[test]
fn outside_the_claim_region_a_refused_write_is_inspected() {
    let (st, work) = set_up("");
    let a = random_file(work.path(), "a.bin", 5000, 81);
    st.put_object("eu-west-1", "app@1.0.0", b"someone else's bytes");
    st.put_object("us-east-1", "app@1.0.0", &std::fs::read(&a).expect("read"));
    let (code, out, err) = output(
        st.ci(work.path())
            .args(["--output", "json", "stage", "app", "1.0.0"])
            .arg(&a),
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.lines().any(|l| l.contains("eu-west-1")
            && l.contains("app@1.0.0")
            && l.contains("already staged with different content")),
        "{err}"
    );
    let report = json(&out);
    assert_eq!(region_report(&report, "eu-north-1")["status"], "staged");
    assert_eq!(
        region_report(&report, "us-east-1")["status"],
        "already-staged"
    );
    assert_eq!(region_report(&report, "eu-west-1")["status"], "failed");
    assert_eq!(
        st.object("eu-west-1", "app@1.0.0").as_deref(),
        Some(&b"someone else's bytes"[..])
    );
    assert_eq!(st.object("eu-west-1", "app@1.0.0/metadata"), None);
    assert_eq!(
        st.parameter_value("eu-west-1", &st.latest_param("app")),
        None
    );
    for region in ["eu-north-1", "us-east-1"] {
        let bytes = st.object(region, "app@1.0.0").expect("staged");
        assert_eq!(sha256_hex(&bytes), sha256_file(&a), "{region}");
        assert_eq!(
            st.parameter_value(region, &st.latest_param("app"))
                .as_deref(),
            Some("1.0.0"),
            "{region}"
        );
    }
}

/// The multipart commit (`CompleteMultipartUpload` with `If-None-Match: *`) loses to an
/// object written while the parts were uploading: the stage changes nothing. (Concurrent
/// multipart stagers are not raced here: moto checks the condition and completes in two
/// steps, so two completions can both pass; S3's check is atomic.)
#[test]
fn a_multipart_stage_preempted_before_it_completes_changes_nothing() {
    let (st, work) = set_up("");
    let big = random_file(work.path(), "big.bin", 100 * MIB, 51);
    let mut child = st
        .ci(work.path())
        .args(["stage", "pre", "1.0.0"])
        .arg(&big)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn provision");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !REGIONS.iter().any(|r| st.multipart_uploads(r) > 0) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the stage ended too early"
        );
        assert!(Instant::now() < deadline, "no multipart upload started");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Another writer gets there first, in the region committed first.
    st.put_object("eu-north-1", "pre@1.0.0", b"someone else's bytes");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("already staged with different content"),
        "{stderr}"
    );
    assert_eq!(
        st.object("eu-north-1", "pre@1.0.0").as_deref(),
        Some(&b"someone else's bytes"[..])
    );
    for region in REGIONS {
        if region != "eu-north-1" {
            assert_eq!(
                st.object(region, "pre@1.0.0"),
                None,
                "{region}: nothing committed"
            );
        }
        assert_eq!(st.object(region, "pre@1.0.0/metadata"), None, "{region}");
        assert_eq!(
            st.parameter_value(region, &st.latest_param("pre")),
            None,
            "{region}"
        );
        assert_eq!(st.multipart_uploads(region), 0, "{region}: uploads aborted");
    }
}

#[test]
fn a_stage_killed_during_a_multipart_upload_leaves_nothing_visible_and_a_rerun_succeeds() {
    let (st, work) = set_up("k/");
    let small = random_file(work.path(), "small.bin", 1000, 7);
    let (code, _, err) = output(
        st.ci(work.path())
            .args(["stage", "killed", "1.0.0"])
            .arg(&small),
    );
    assert_eq!(code, 0, "{err}");
    let big = random_file(work.path(), "big.bin", 200 * MIB, 8);

    let mut child = st
        .ci(work.path())
        .args(["stage", "killed", "2.0.0"])
        .arg(&big)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn provision");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the stage ended before it could be killed"
        );
        if REGIONS.iter().any(|r| st.multipart_uploads(r) > 0) {
            break;
        }
        assert!(Instant::now() < deadline, "no multipart upload started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().expect("SIGKILL");
    child.wait().unwrap();

    for region in REGIONS {
        assert_eq!(
            st.object(region, "k/killed@2.0.0"),
            None,
            "{region}: no visible artifact"
        );
        assert!(
            !st.keys(region)
                .iter()
                .any(|k| k.starts_with("k/killed@2.0.0")),
            "{region}: no metadata"
        );
        assert_eq!(
            st.parameter_value(region, &st.latest_param("killed"))
                .as_deref(),
            Some("1.0.0")
        );
    }

    let (code, out, err) = output(
        st.ci(work.path())
            .args(["stage", "killed", "2.0.0"])
            .arg(&big),
    );
    assert_eq!(code, 0, "rerun\n{out}\n{err}");
    let sha = sha256_file(&big);
    for region in REGIONS {
        assert_eq!(
            sha256_hex(&st.object(region, "k/killed@2.0.0").unwrap()),
            sha
        );
        assert_eq!(
            st.parameter_value(region, &st.latest_param("killed"))
                .as_deref(),
            Some("2.0.0")
        );
    }
}

#[test]
fn a_stopped_region_is_reported_by_stage_and_setup_and_downloads_fail_over() {
    let mut emulators = Emulators::reserve(REGIONS.len());
    let mut motos: BTreeMap<&str, _> = REGIONS.iter().map(|r| (*r, emulators.start())).collect();
    let st = Storage::create(
        motos
            .iter()
            .map(|(r, m)| (r.to_string(), m.url()))
            .collect(),
        "",
    );
    st.setup();
    let work = tempfile::tempdir().unwrap();
    let v1 = random_file(work.path(), "v1.bin", MIB, 21);
    let v2 = random_file(work.path(), "v2.bin", MIB, 22);
    let (code, out, err) = output(st.provision().args(["stage", "app", "1.0.0"]).arg(&v1));
    assert_eq!(code, 0, "{out}\n{err}");

    // The home region (where the configuration is read first) and first in claim order.
    let down = "eu-north-1";
    motos.get_mut(down).unwrap().stop();

    let (code, out, err) = output(
        st.provision()
            .args(["--output", "json", "stage", "app", "1.1.0"])
            .arg(&v2),
    );
    assert_eq!(code, 1, "a partial stage is exit 1\n{out}\n{err}");
    json(&out);
    // The stopped region failed (cannot connect), the others staged.
    assert_output_snapshot!("stage_with_a_region_stopped", out);
    for region in ["eu-west-1", "us-east-1"] {
        assert_eq!(
            sha256_hex(&st.object(region, "app@1.1.0").unwrap()),
            sha256_file(&v2)
        );
    }

    let back = tempfile::tempdir().unwrap();
    let out_path = back.path().join("v2.out");
    let (code, out, err) = output(
        st.provision()
            .args(["--output", "json", "download", "app", "1.1.0"])
            .arg(&out_path)
            .args(["--region", down]),
    );
    assert_eq!(code, 0, "download fails over\n{out}\n{err}");
    let done = json(&out);
    assert_ne!(done["region"], down);
    assert_eq!(
        done["skipped"][0]["region"], down,
        "the failed region is named: {done}"
    );
    assert_eq!(sha256_file(&out_path), sha256_file(&v2));

    let (code, out, err) = output(st.provision().args(["--output", "json", "setup"]));
    assert_eq!(code, 1, "{out}\n{err}");
    json(&out);
    assert_output_snapshot!("setup_with_a_region_stopped", out);
}

#[test]
fn a_partial_stage_is_completed_by_a_rerun() {
    let (st, work) = set_up("");
    let f = random_file(work.path(), "f.bin", 2 * MIB, 31);
    st.delete_parameter("eu-west-1", &st.bucket_param);

    let (code, out, err) = output(
        st.ci(work.path())
            .args(["--output", "json", "stage", "app", "1.0.0"])
            .arg(&f),
    );
    assert_eq!(code, 1, "{out}\n{err}");
    let report = json(&out);
    assert_eq!(region_report(&report, "eu-west-1")["status"], "failed");
    assert_eq!(st.object("eu-west-1", "app@1.0.0"), None);
    assert_eq!(
        st.parameter_value("eu-west-1", &st.latest_param("app")),
        None
    );
    assert!(st.object("us-east-1", "app@1.0.0").is_some());

    st.put_parameter("eu-west-1", &st.bucket_param, &st.bucket("eu-west-1"));
    let (code, out, err) = output(
        st.ci(work.path())
            .args(["--output", "json", "stage", "app", "1.0.0"])
            .arg(&f),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let report = json(&out);
    assert_eq!(region_report(&report, "eu-west-1")["status"], "staged");
    assert_eq!(
        region_report(&report, "us-east-1")["status"],
        "already-staged"
    );
    assert_eq!(region_report(&report, "us-east-1")["metadata"], "present");
    for region in REGIONS {
        assert_eq!(
            sha256_hex(&st.object(region, "app@1.0.0").unwrap()),
            sha256_file(&f)
        );
        assert_eq!(
            st.parameter_value(region, &st.latest_param("app"))
                .as_deref(),
            Some("1.0.0")
        );
    }
}

#[test]
fn an_object_overwritten_behind_our_back_fails_the_integrity_check_and_leaves_no_file() {
    let (st, work) = set_up("");
    let f = random_file(work.path(), "f.bin", 3 * MIB, 41);
    let (code, _, err) = output(st.ci(work.path()).args(["stage", "app", "1.0.0"]).arg(&f));
    assert_eq!(code, 0, "{err}");
    for region in REGIONS {
        st.put_object(region, "app@1.0.0", b"tampered");
    }

    let back = tempfile::tempdir().unwrap();
    let (code, out, err) = output(
        st.ci(back.path())
            .args(["download", "app", "1.0.0", "out.bin"]),
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("integrity check failed"), "{err}");
    assert!(err.contains("app@1.0.0"), "names the object: {err}");
    assert!(
        REGIONS.iter().any(|r| err.contains(r)),
        "names the region: {err}"
    );
    assert!(is_empty(back.path()), "no file and no temporary file left");
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}
