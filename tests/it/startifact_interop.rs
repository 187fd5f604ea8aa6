//! Interoperability with Startifact 1.0a10 (PyPI `startifact`, in .venv/startifact) on the
//! same emulator: artifacts staged by one tool are downloaded by the other byte for byte,
//! metadata included; the organisation configuration, metadata JSON and version rules are
//! the same bytes and the same decisions.

use crate::support::storage::{REGIONS, Storage, random_file, set_up, sha256_file};
use crate::support::{output, repo_root, shared, venv_tool};
use provision::startifact::{layout, pyjson};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// A program of Startifact's environment with the test bed's environment plus Startifact's
/// settings: the emulator, the test's parameter and regions.
fn startifact_tool(exe: &str, st: &Storage, dir: &Path) -> Command {
    let mut cmd = venv_tool("startifact", exe);
    cmd.current_dir(dir)
        .env("AWS_ENDPOINT_URL", st.endpoints.values().next().unwrap())
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("STARTIFACT_PARAMETER", &st.parameter)
        .env("STARTIFACT_REGIONS", REGIONS.join(","));
    cmd
}

fn startifact(st: &Storage, dir: &Path) -> Command {
    startifact_tool("startifact", st, dir)
}

fn driver(st: &Storage, dir: &Path) -> Command {
    let mut cmd = startifact_tool("python", st, dir);
    cmd.arg(repo_root().join("tests/startifact_driver.py"));
    cmd
}

fn run_ok(cmd: &mut Command, what: &str) -> String {
    let (code, out, err) = output(cmd);
    assert_eq!(code, 0, "{what}\nstdout:\n{out}\nstderr:\n{err}");
    out
}

#[test]
fn artifacts_staged_by_provision_download_with_startifact_byte_identical() {
    let (st, work) = set_up("artifacts/");
    let small = random_file(work.path(), "small.bin", 3 * 1024 * 1024, 61);
    let big = random_file(work.path(), "big.bin", 20 * 1024 * 1024, 62);
    run_ok(
        st.ci(work.path())
            .args(["stage", "SugarWater", "1.2.3"])
            .arg(&small)
            .args([
                "--metadata",
                "team=platform",
                "--metadata",
                "note=ü \"quoted\" €",
                "--filename",
            ]),
        "provision stage 1.2.3",
    );
    run_ok(
        st.ci(work.path())
            .args(["stage", "SugarWater", "1.3.0-rc.1"])
            .arg(&big)
            .arg("--filename=big.tgz"),
        "provision stage 1.3.0-rc.1 (multipart)",
    );

    let down = tempfile::tempdir().unwrap();
    run_ok(
        startifact(&st, down.path()).args(["SugarWater", "--download", "latest.bin"]),
        "startifact download latest",
    );
    assert_eq!(
        sha256_file(&down.path().join("latest.bin")),
        sha256_file(&big)
    );
    run_ok(
        startifact(&st, down.path()).args(["SugarWater", "1.2.3", "--download", ".", "--filename"]),
        "startifact download 1.2.3 --filename",
    );
    assert_eq!(
        sha256_file(&down.path().join("small.bin")),
        sha256_file(&small)
    );

    // Startifact reads the metadata provision wrote, and would have written the same bytes.
    let read = run_ok(
        driver(&st, down.path()).args(["metadata", "SugarWater", "1.2.3"]),
        "metadata",
    );
    let read: Value = serde_json::from_str(&read).unwrap();
    assert_eq!(read["team"], "platform");
    assert_eq!(read["note"], "ü \"quoted\" €");
    assert_eq!(read["startifact:filename"], "small.bin");
    assert_eq!(read["provision:sha256"], sha256_file(&small));
    let python_bytes = run_ok(
        driver(&st, down.path()).args(["dumps", &read.to_string()]),
        "dumps",
    );
    for region in REGIONS {
        let ours = st
            .object(region, "artifacts/SugarWater@1.2.3/metadata")
            .unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), python_bytes, "{region}");
    }
    let info = run_ok(
        startifact(&st, down.path()).args(["SugarWater", "1.2.3", "--info"]),
        "startifact --info",
    );
    assert!(info.contains("team") && info.contains("platform"), "{info}");
}

#[test]
fn artifacts_staged_by_startifact_download_with_provision_byte_identical() {
    let (st, work) = set_up("");
    let f = random_file(work.path(), "dist.tar.gz", 2 * 1024 * 1024, 71);
    run_ok(
        startifact(&st, work.path())
            .args(["SugarWater", "2.0.0", "--stage"])
            .arg(&f)
            .args(["--metadata", "lang=dotnet", "--filename"]),
        "startifact stage",
    );

    let down = tempfile::tempdir().unwrap();
    let out = run_ok(
        st.ci(down.path())
            .args(["--output", "json", "download", "SugarWater", "out.bin"]),
        "provision download latest",
    );
    assert_eq!(sha256_file(&down.path().join("out.bin")), sha256_file(&f));
    let done = crate::support::schema::document(&out);
    assert_eq!(done["version"], "2.0.0");
    assert_eq!(
        done["verified"], "s3-crc32",
        "no SHA-256 recorded: S3's checksum (boto3's CRC32) is checked"
    );
    let sub = down.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    run_ok(
        st.ci(down.path())
            .args(["download", "SugarWater", "2.0.0"])
            .arg(&sub)
            .arg("--filename"),
        "provision download --filename",
    );
    assert_eq!(sha256_file(&sub.join("dist.tar.gz")), sha256_file(&f));

    // Metadata as both tools read it.
    let ours = run_ok(
        st.ci(down.path())
            .args(["--output", "json", "info", "SugarWater"]),
        "provision info",
    );
    let ours = crate::support::schema::document(&ours);
    let theirs = run_ok(
        driver(&st, down.path()).args(["metadata", "SugarWater", "2.0.0"]),
        "metadata",
    );
    let theirs: Value = serde_json::from_str(&theirs).unwrap();
    assert_eq!(ours["metadata"], theirs);
    assert_eq!(theirs["startifact:filename"], "dist.tar.gz");

    // Restaging the same bytes resumes (compared by hashing the object) and adds the SHA-256;
    // other bytes are refused.
    let out = run_ok(
        st.ci(work.path())
            .args(["--output", "json", "stage", "SugarWater", "2.0.0"])
            .arg(&f)
            .arg("--filename"),
        "provision restage",
    );
    let report = crate::support::schema::document(&out);
    assert!(
        report["regions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "already-staged" && r["metadata"] == "merged"),
        "{report}"
    );
    let other = random_file(work.path(), "other.tar.gz", 2 * 1024 * 1024, 72);
    let (code, _, err) = output(
        st.ci(work.path())
            .args(["stage", "SugarWater", "2.0.0"])
            .arg(&other),
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("already staged with different content"),
        "{err}"
    );
    let theirs = run_ok(
        driver(&st, down.path()).args(["metadata", "SugarWater", "2.0.0"]),
        "metadata",
    );
    let theirs: Value = serde_json::from_str(&theirs).unwrap();
    assert_eq!(theirs["lang"], "dotnet");
    assert_eq!(theirs["provision:sha256"], sha256_file(&f));
}

#[test]
fn the_organisation_configuration_is_byte_identical_with_startifacts_setup() {
    let st = Storage::shared("artifacts/");
    st.setup();
    let theirs_param = format!("{}-by-startifact", st.parameter);
    let dir = tempfile::tempdir().unwrap();
    run_ok(
        driver(&st, dir.path())
            .env("STARTIFACT_PARAMETER", &theirs_param)
            .args([
                "setup",
                &REGIONS.join(","),
                &st.bucket_param,
                "artifacts/",
                &st.artifact_prefix,
            ]),
        "Startifact setup",
    );
    for region in REGIONS {
        let ours = st.parameter_value(region, &st.parameter).unwrap();
        let theirs = st.parameter_value(region, &theirs_param).unwrap();
        assert_eq!(ours, theirs, "{region}");
    }
    // And provision considers Startifact's configuration up to date.
    let (code, out, err) = output(
        st.provision()
            .env("STARTIFACT_PARAMETER", &theirs_param)
            .args(["setup", "--check"]),
    );
    assert_eq!(code, 0, "{out}\n{err}");
}

#[test]
fn version_rules_are_python_semvers_canonical_forms() {
    let candidates = [
        "1.2.3",
        "0.0.0",
        "01.2.3",
        "1.02.3",
        "1.2.3-01",
        "1.2.3-0a",
        "1.2.3+001",
        "1.2.3-rc.1+build.5",
        "1.2",
        "1",
        "v1.2.3",
        "1.2.3-",
        "1.2.3+",
        "1.2.3-a..b",
        "1.2.3-a-b",
        "1.2.3---",
        "1.2.3-0",
        "1.2.3-00",
        "1.0.0-alpha+001",
        " 1.2.3",
        "1.2.3 ",
        "1.2.3\n",
        "1.2.3-α",
        "1.2.3+b_1",
        "1.2.3.4",
        "18446744073709551615.0.0",
    ];
    let dir = tempfile::tempdir().unwrap();
    let st_dummy = Storage::on(&shared().url(), &["us-east-1"], "");
    let out = run_ok(
        driver(&st_dummy, dir.path()).arg("semver").args(candidates),
        "semver",
    );
    for (v, line) in candidates.iter().zip(out.lines()) {
        let python_canonical = line.strip_prefix("ok ") == Some(*v);
        assert_eq!(
            layout::parse_version(v).is_ok(),
            python_canonical,
            "{v:?}: Python says {line:?}"
        );
    }
}

#[test]
fn metadata_json_is_what_python_writes() {
    let docs = [
        r#"{}"#,
        r#"{"b": "2", "a": "1", "startifact:filename": "x.tgz"}"#,
        r#"{"k": "quote\" back\\ slash/ nl\n tab\t cr\r bell\u0007 del\u007f é € 😀 \u0000 \u2028"}"#,
        r#"{"é": "1", "e": "2", "Z": "3", "😀": "4", "ü": {"nested": [1, 2.5, true, null, [], {}]}}"#,
    ];
    let dir = tempfile::tempdir().unwrap();
    let st_dummy = Storage::on(&shared().url(), &["us-east-1"], "");
    for doc in docs {
        let python = run_ok(driver(&st_dummy, dir.path()).args(["dumps", doc]), "dumps");
        let value: Value = serde_json::from_str(doc).unwrap();
        assert_eq!(pyjson::dumps(&value), python, "{doc}");
    }
}

/// An organisation set up with no parameter name prefix and no key prefix (Startifact's setup
/// allows it; the guide's "or all parameters if you have no name prefix"): both tools agree on
/// the configuration, on `/<project>/latest` and on the keys, and each downloads what the
/// other staged; `info` and `list` read them.
#[test]
fn an_organisation_without_prefixes_works_both_ways_with_startifact() {
    let st = Storage::shared_without_prefixes();
    st.setup();
    let work = tempfile::tempdir().unwrap();
    // Startifact's own setup with both prefixes empty writes the same configuration.
    let theirs_param = format!("{}-by-startifact", st.parameter);
    run_ok(
        driver(&st, work.path())
            .env("STARTIFACT_PARAMETER", &theirs_param)
            .args(["setup", &REGIONS.join(","), &st.bucket_param, "", ""]),
        "Startifact setup without prefixes",
    );
    for region in REGIONS {
        let ours = st.parameter_value(region, &st.parameter).unwrap();
        let theirs = st.parameter_value(region, &theirs_param).unwrap();
        assert_eq!(ours, theirs, "{region}");
    }

    // provision stages, Startifact downloads.
    let ours = format!("{}-ours", st.id);
    let f = random_file(work.path(), "ours.bin", 1024 * 1024, 81);
    run_ok(
        st.ci(work.path())
            .args(["stage", &ours, "1.0.0"])
            .arg(&f)
            .arg("--filename"),
        "provision stage without prefixes",
    );
    for region in REGIONS {
        assert_eq!(
            st.parameter_value(region, &format!("/{ours}/latest"))
                .as_deref(),
            Some("1.0.0"),
            "{region}"
        );
        assert!(st.object(region, &format!("{ours}@1.0.0")).is_some());
    }
    let down = tempfile::tempdir().unwrap();
    run_ok(
        startifact(&st, down.path()).args([ours.as_str(), "--download", "got.bin"]),
        "startifact download latest",
    );
    assert_eq!(sha256_file(&down.path().join("got.bin")), sha256_file(&f));

    // Startifact stages, provision downloads, reads and lists.
    let theirs = format!("{}-theirs", st.id);
    let g = random_file(work.path(), "theirs.bin", 1024 * 1024, 82);
    run_ok(
        startifact(&st, work.path())
            .args([theirs.as_str(), "2.1.0", "--stage"])
            .arg(&g)
            .args(["--metadata", "lang=go"]),
        "startifact stage without prefixes",
    );
    run_ok(
        st.ci(down.path()).args(["download", &theirs, "out.bin"]),
        "provision download latest",
    );
    assert_eq!(sha256_file(&down.path().join("out.bin")), sha256_file(&g));
    let info = crate::support::schema::document(&run_ok(
        st.ci(down.path())
            .args(["--output", "json", "info", &theirs]),
        "provision info",
    ));
    assert_eq!(info["version"], "2.1.0", "{info}");
    assert_eq!(info["metadata"]["lang"], "go", "{info}");
    let list = crate::support::schema::document(&run_ok(
        st.ci(down.path())
            .args(["--output", "json", "list", &theirs]),
        "provision list",
    ));
    assert_eq!(list["latest"], "2.1.0", "{list}");
    assert_eq!(list["versions"][0]["version"], "2.1.0", "{list}");
}
