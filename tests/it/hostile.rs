//! What a hostile or careless user meets (issue 13), end to end on the emulator: file modes
//! of downloads, failures said on stderr, JSON documents on every path, signals, remote text
//! that could drive a terminal, destinations checked before any request, files that change
//! while they are staged.

use crate::support::output;
use crate::support::storage::{MIB, random_file, set_up};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// Runs `cmd` with this umask (set in the child only).
fn with_umask(cmd: &mut Command, mask: u32) -> &mut Command {
    // SAFETY: umask is async-signal-safe and touches only the child's own state.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(mask as libc::mode_t);
            Ok(())
        })
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn downloads_respect_the_umask_and_a_replaced_file_keeps_its_mode() {
    let (st, work) = set_up("");
    let f = random_file(work.path(), "f.bin", MIB, 7);
    let (code, _, err) = output(st.ci(work.path()).args(["stage", "app", "1.0.0"]).arg(&f));
    assert_eq!(code, 0, "{err}");

    let back = tempfile::tempdir().unwrap();
    for (mask, expected) in [(0o077, 0o600), (0o022, 0o644), (0o027, 0o640)] {
        let name = format!("new-{expected:o}");
        let (code, _, err) = output(with_umask(
            st.ci(back.path()).args(["download", "app", "1.0.0", &name]),
            mask,
        ));
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            mode(&back.path().join(&name)),
            expected,
            "umask {mask:o}: a new file is 0666 & !umask"
        );
    }

    let tool = back.path().join("tool");
    std::fs::write(&tool, b"#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o750)).unwrap();
    let (code, _, err) = output(with_umask(
        st.ci(back.path())
            .args(["download", "app", "1.0.0", "tool"]),
        0o022,
    ));
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&tool), 0o750, "a replaced executable keeps its mode");
    assert_eq!(std::fs::metadata(&tool).unwrap().len(), MIB as u64);
}

/// A loopback URL nothing listens on: every request to it fails to connect at once.
fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn a_region_failure_is_said_on_stderr_also_under_quiet() {
    let (st, work) = set_up("");
    let f = random_file(work.path(), "f.bin", 1024, 3);
    let (code, _, err) = output(st.provision().args(["stage", "app", "1.0.0"]).arg(&f));
    assert_eq!(code, 0, "{err}");
    // us-east-1 is not the home region: the configuration is still read in eu-north-1.
    let down = "us-east-1";
    let yaml = st.config_yaml().replace(
        &format!("  {down}: {}", st.endpoints[down]),
        &format!("  {down}: {}", dead_endpoint()),
    );
    std::fs::write(st.config_path(), yaml).unwrap();

    let runs: [&[&str]; 3] = [
        &["-q", "setup"],
        &["-q", "stage", "app", "1.1.0", f.to_str().unwrap()],
        &["-q", "metadata", "app", "1.0.0", "--set", "k=v"],
    ];
    for args in runs {
        let (code, out, err) = output(st.provision().args(args));
        assert_eq!(code, 1, "{args:?}\n{out}\n{err}");
        assert!(out.is_empty(), "{args:?}: -q prints no report: {out}");
        assert!(
            err.lines()
                .any(|l| l.starts_with("error: ") && l.contains(down)),
            "{args:?}: the failed region is named on stderr: {err}"
        );
    }
}

/// `provision` set up as a CI job whose every region is unreachable: any request it makes
/// fails with exit 1, so an exit 3 proves the input was refused before any request.
fn offline(dir: &Path) -> Command {
    let mut cmd = crate::support::provision(dir);
    cmd.env("AWS_ENDPOINT_URL", dead_endpoint())
        .env("AWS_REGION", "eu-west-1")
        .env("STARTIFACT_PARAMETER", "/acme/startifact");
    cmd
}

#[test]
fn a_destination_that_cannot_be_written_is_exit_3_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    for (path, expected) in [
        ("newdir/", "names a directory"),
        ("", "PATH is empty"),
        ("missing/x", "does not exist"),
    ] {
        let (code, out, err) =
            output(offline(dir.path()).args(["download", "big", "latest", path]));
        assert_eq!(code, 3, "{path:?}\n{out}\n{err}");
        assert!(err.contains(expected), "{path:?}: {err}");
        assert!(!err.contains("127.0.0.1"), "no request was made: {err}");
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    // The same job with a writable destination does make requests (and fails with exit 1).
    let (code, _, err) = output(offline(dir.path()).args(["download", "big", "latest", "ok"]));
    assert_eq!(code, 1, "{err}");
}

#[test]
fn remote_text_cannot_drive_the_terminal() {
    use crate::support::storage::{REGIONS, sha256_file};
    let (st, work) = set_up("");
    let f = random_file(work.path(), "f.bin", 100, 5);
    let (code, _, err) = output(st.ci(work.path()).args(["stage", "app", "1.0.0"]).arg(&f));
    assert_eq!(code, 0, "{err}");
    let sha = sha256_file(&f);
    // Someone who may append metadata writes terminal sequences into it.
    let doc = serde_json::json!({
        "provision:sha256": sha,
        "note": "\u{1b}[2J\u{1b}]0;verified OK\u{7}",
        "two\nlines": "x\r\u{1b}[32mverified OK",
        "bidi": "abc\u{202E}exe.txt",
    });
    for region in REGIONS {
        st.put_object(region, "app@1.0.0/metadata", doc.to_string().as_bytes());
    }
    let (code, out, err) = output(st.ci(work.path()).args(["info", "app", "1.0.0"]));
    assert_eq!(code, 0, "{err}");
    for c in ['\u{1b}', '\u{7}', '\r', '\u{202E}'] {
        assert!(!out.contains(c), "{c:?} reached the terminal:\n{out}");
    }
    assert!(
        out.contains("\\u{1b}[2J\\u{1b}]0;verified OK\\u{7}"),
        "{out}"
    );
    assert!(out.contains("two\\nlines"), "one line per key: {out}");
    assert!(out.contains("x\\r\\u{1b}[32mverified OK"), "{out}");
    assert!(out.contains("abc\\u{202e}exe.txt"), "{out}");
    // JSON keeps the values exact (its encoder escapes them).
    let (code, out, _) = output(
        st.ci(work.path())
            .args(["--output", "json", "info", "app", "1.0.0"]),
    );
    assert_eq!(code, 0);
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["metadata"]["two\nlines"], "x\r\u{1b}[32mverified OK");

    // `--filename` refuses bidirectional controls and whitespace-only names: when staging...
    for name in ["x\u{202E}gpj.exe", "a\u{2066}b", "  ", "\u{3000}"] {
        let (code, _, err) = output(
            st.ci(work.path())
                .args(["stage", "app", "2.0.0"])
                .arg(&f)
                .arg(format!("--filename={name}")),
        );
        assert_eq!(code, 3, "{name:?}: {err}");
        assert!(err.contains("--filename"), "{err}");
        assert!(
            !err.contains(['\u{202E}', '\u{2066}']),
            "the name is shown escaped: {err}"
        );
    }
    // ... and when downloading a name someone recorded.
    let into = tempfile::tempdir().unwrap();
    for name in ["x\u{202E}gpj.exe", " "] {
        let doc = serde_json::json!({"provision:sha256": sha, "startifact:filename": name});
        for region in REGIONS {
            st.put_object(region, "app@1.0.0/metadata", doc.to_string().as_bytes());
        }
        let (code, out, err) = output(
            st.ci(work.path())
                .args(["download", "app", "1.0.0"])
                .arg(into.path())
                .arg("--filename"),
        );
        assert_eq!(code, 1, "{name:?}\n{out}\n{err}");
        assert!(err.contains("refusing the staged file name"), "{err}");
        assert!(!err.contains('\u{202E}'), "{err}");
        assert!(std::fs::read_dir(into.path()).unwrap().next().is_none());
    }
}

/// Spawns `cmd` and waits until one of the regions holds a multipart upload.
fn spawn_until_multipart(
    st: &crate::support::storage::Storage,
    cmd: &mut Command,
) -> std::process::Child {
    use crate::support::storage::REGIONS;
    use std::time::{Duration, Instant};
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn provision");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the stage ended before its multipart upload was seen"
        );
        if REGIONS.iter().any(|r| st.multipart_uploads(r) > 0) {
            return child;
        }
        assert!(Instant::now() < deadline, "no multipart upload started");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_file_overwritten_while_it_is_staged_is_refused_before_the_commit() {
    use crate::support::storage::{REGIONS, sha256_file, sha256_hex};
    use std::io::{Seek, SeekFrom, Write};
    let (st, work) = set_up("");
    let big = random_file(work.path(), "big.bin", 96 * MIB, 9);
    let hashed = sha256_file(&big);
    let child = spawn_until_multipart(
        &st,
        st.ci(work.path()).args(["stage", "app", "1.0.0"]).arg(&big),
    );
    // Overwrite the last part in place (same size, same inode) while the first parts go up.
    let mut f = std::fs::OpenOptions::new().write(true).open(&big).unwrap();
    f.seek(SeekFrom::End(-(MIB as i64))).unwrap();
    f.write_all(&vec![0xAB; MIB]).unwrap();
    f.sync_all().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("changed while it was being staged"), "{err}");
    for region in REGIONS {
        if let Some(object) = st.object(region, "app@1.0.0") {
            assert_eq!(
                sha256_hex(&object),
                hashed,
                "{region}: a visible object is what was hashed"
            );
        } else {
            assert_eq!(
                st.parameter_value(region, &st.latest_param("app")),
                None,
                "{region}: latest untouched"
            );
        }
        assert_eq!(st.multipart_uploads(region), 0, "{region}: upload aborted");
    }
}

fn signal(child: &std::process::Child, sig: libc::c_int) {
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(".provision-download-"))
        .collect()
}

#[test]
fn signals_clean_up_and_the_next_download_sweeps_what_a_kill_left() {
    use crate::support::storage::{REGIONS, sha256_file};
    use std::time::{Duration, Instant};
    let (st, work) = set_up("");
    let small = random_file(work.path(), "small.bin", 1000, 1);
    let (code, _, err) = output(
        st.ci(work.path())
            .args(["stage", "app", "1.0.0"])
            .arg(&small),
    );
    assert_eq!(code, 0, "{err}");
    let big = random_file(work.path(), "big.bin", 160 * MIB, 2);

    // SIGINT during a multipart stage: the uploads in flight are aborted, latest untouched.
    let child = spawn_until_multipart(
        &st,
        st.ci(work.path()).args(["stage", "app", "2.0.0"]).arg(&big),
    );
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted by SIGINT"), "{err}");
    for region in REGIONS {
        assert_eq!(st.multipart_uploads(region), 0, "{region}: aborted");
        assert_eq!(st.object(region, "app@2.0.0"), None, "{region}");
        assert_eq!(
            st.parameter_value(region, &st.latest_param("app"))
                .as_deref(),
            Some("1.0.0"),
            "{region}: latest untouched"
        );
    }
    let (code, _, err) = output(st.ci(work.path()).args(["stage", "app", "2.0.0"]).arg(&big));
    assert_eq!(code, 0, "a rerun stages it: {err}");

    // SIGTERM during a download: the temporary file is removed, nothing is at PATH.
    let back = tempfile::tempdir().unwrap();
    let mut child = st
        .ci(back.path())
        .args(["download", "app", "2.0.0", "out.bin"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while temp_files(back.path()).is_empty() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before the signal"
        );
        assert!(Instant::now() < deadline, "no temporary file appeared");
        std::thread::sleep(Duration::from_millis(2));
    }
    signal(&child, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(err.contains("interrupted by SIGTERM"), "{err}");
    assert!(temp_files(back.path()).is_empty(), "temporary file removed");
    assert!(!back.path().join("out.bin").exists());

    // What a SIGKILL leaves is swept by the next download there; a live download's is not.
    std::fs::write(back.path().join(".provision-download-killed"), b"partial").unwrap();
    let live = std::fs::File::create(back.path().join(".provision-download-live")).unwrap();
    live.lock().unwrap();
    let (code, _, err) = output(
        st.ci(back.path())
            .args(["download", "app", "1.0.0", "small.out"]),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        sha256_file(&back.path().join("small.out")),
        sha256_file(&small)
    );
    assert_eq!(temp_files(back.path()), vec![".provision-download-live"]);
}

#[test]
fn messages_say_what_happened() {
    use crate::support::storage::REGIONS;
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    // No region answered: no hint to run `provision setup`, which would not help.
    let (code, _, err) = output(offline(dir.path()).args(["download", "app", "latest", "ok"]));
    assert_eq!(code, 1, "{err}");
    assert!(!err.contains("provision setup"), "{err}");
    // A non-ASCII pre-release says which characters are allowed.
    let f = random_file(dir.path(), "f.bin", 10, 1);
    let (code, _, err) = output(
        offline(dir.path())
            .args(["stage", "app", "1.0.0-é"])
            .arg(&f),
    );
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("only ASCII letters, digits and hyphens"),
        "{err}"
    );

    let (st, work) = set_up("");
    // `-f -` reads the configuration from standard input.
    let mut child = crate::support::provision(work.path())
        .args(["-f", "-", "validate"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(st.config_yaml().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A deleted bucket is NoSuchBucket, not a missing object.
    let (code, _, err) = output(st.ci(work.path()).args(["stage", "app", "1.0.0"]).arg(&f));
    assert_eq!(code, 0, "{err}");
    let keys: Vec<Vec<String>> = REGIONS.iter().map(|r| st.keys(r)).collect();
    crate::support::storage::block_on(async {
        for (region, keys) in REGIONS.iter().zip(keys) {
            let s3 = st.s3(region);
            for key in keys {
                s3.delete_object()
                    .bucket(st.bucket(region))
                    .key(key)
                    .send()
                    .await
                    .unwrap();
            }
            s3.delete_bucket()
                .bucket(st.bucket(region))
                .send()
                .await
                .unwrap();
        }
    });
    for args in [
        &["info", "app", "1.0.0"][..],
        &["download", "app", "1.0.0", "out.bin"][..],
    ] {
        let (code, _, err) = output(st.ci(work.path()).args(args));
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("NoSuchBucket"), "{args:?}: {err}");
        assert!(!err.contains("app@1.0.0 does not exist"), "{args:?}: {err}");
    }
}

/// Checks a failure document against schema/error.schema.json: its required fields, their
/// types, no other field.
fn assert_error_document(out: &str, command: &str, exit: i32) -> serde_json::Value {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(crate::support::repo_root().join("schema/error.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(out).unwrap_or_else(|e| panic!("one JSON document: {e}\n{out}"));
    let props = schema["properties"].as_object().unwrap();
    let fields = doc.as_object().unwrap();
    for required in schema["required"].as_array().unwrap() {
        assert!(
            fields.contains_key(required.as_str().unwrap()),
            "{required} missing: {doc}"
        );
    }
    for key in fields.keys() {
        assert!(props.contains_key(key), "{key} is not in the schema: {doc}");
    }
    assert_eq!(doc["schema"], schema["properties"]["schema"]["const"]);
    assert_eq!(doc["command"], command, "{doc}");
    assert_eq!(doc["exit"], exit, "{doc}");
    assert!(
        doc["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{doc}"
    );
    assert!(doc["causes"].is_array() && doc["failures"].is_array());
    assert!(doc["hint"].is_null() || doc["hint"].is_string());
    for f in doc["failures"].as_array().unwrap() {
        assert!(f["region"].is_string() && f["error"].is_string(), "{doc}");
    }
    doc
}

#[test]
fn json_output_is_one_document_on_every_failure_path() {
    let dir = tempfile::tempdir().unwrap();
    let json = |args: &[&str]| {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        output(offline(dir.path()).args(&all))
    };
    // Exit 3: a usage error clap finds, and one the command finds.
    let (code, out, _) = json(&["stage", "app"]);
    assert_eq!(code, 3);
    assert_error_document(&out, "stage", 3);
    let (code, out, _) = json(&["download", "app", "latest", ""]);
    assert_eq!(code, 3);
    assert_error_document(&out, "download", 3);
    // No region able to serve: the per-region failures.
    let (code, out, err) = json(&["download", "app", "latest", "ok"]);
    assert_eq!(code, 1, "{err}");
    let doc = assert_error_document(&out, "download", 1);
    assert!(!doc["failures"].as_array().unwrap().is_empty(), "{doc}");
    let (st, work) = set_up("");
    // stage refused: other bytes staged under this version.
    let a = random_file(work.path(), "a.bin", 100, 1);
    let b = random_file(work.path(), "b.bin", 100, 2);
    let (code, _, err) = output(st.ci(work.path()).args(["stage", "app", "1.0.0"]).arg(&a));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = output(
        st.ci(work.path())
            .args(["--output", "json", "stage", "app", "1.0.0"])
            .arg(&b),
    );
    assert_eq!(code, 1, "{err}");
    let doc = assert_error_document(&out, "stage", 1);
    // Found in the claim region, before anything was written (a small file's other regions
    // are not read first: their conditional writes are the check).
    let failures = doc["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{doc}");
    assert_eq!(failures[0]["region"], "eu-north-1", "{doc}");
}
