//! The staging commands and `setup` on the emulator: input rules and exit codes, `latest`
//! ordering, conflicts, dry runs, copy mode, `list`, `info`, `metadata`, `presign` and
//! `download --filename`. Results are checked through the AWS APIs.

mod support;

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use support::storage::{Storage, random_file, sha256_file, sha256_hex};
use support::{output, provision, shared};

const REGIONS: [&str; 3] = ["eu-north-1", "eu-west-1", "us-east-1"];
const MIB: usize = 1024 * 1024;

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

fn region_report<'a>(report: &'a Value, region: &str) -> &'a Value {
    report["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .find(|r| r["region"] == region)
        .unwrap_or_else(|| panic!("no {region} in {report}"))
}

#[test]
fn setup_writes_startifacts_json_keeps_unknown_keys_and_check_exits_2() {
    let st = Storage::on(&shared().url(), &REGIONS, "artifacts/");
    let (code, out, err) = output(
        st.provision()
            .args(["--output", "json", "setup", "--check"]),
    );
    assert_eq!(code, 2, "missing everywhere\n{out}\n{err}");
    assert_eq!(region_report(&json(&out), "eu-west-1")["status"], "missing");

    // One region already has a configuration with another value and a key of its own.
    st.put_parameter(
        "us-east-1",
        &st.parameter,
        r#"{"bucket_name_param": "/old", "team": {"owner": "platform"}, "regions": "us-east-1"}"#,
    );
    let (code, out, err) = output(st.provision().args(["setup"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("~ bucket_name_param: \"/old\" → "), "{out}");

    let expected = format!(
        "{{\n  \"bucket_key_prefix\": \"artifacts/\",\n  \"bucket_name_param\": \"{}\",\n  \"parameter_name_prefix\": \"{}\",\n  \"regions\": \"eu-north-1,eu-west-1,us-east-1\",\n  \"save_ok\": \"y\"\n}}",
        st.bucket_param, st.artifact_prefix
    );
    assert_eq!(
        st.parameter_value("eu-west-1", &st.parameter).as_deref(),
        Some(expected.as_str())
    );
    let kept = st.parameter_value("us-east-1", &st.parameter).unwrap();
    assert_eq!(
        kept,
        expected.replace(
            "  \"save_ok\": \"y\"\n}",
            "  \"save_ok\": \"y\",\n  \"team\": {\n    \"owner\": \"platform\"\n  }\n}"
        ),
        "the unknown key is kept, in Python's formatting"
    );

    let (code, out, err) = output(
        st.provision()
            .args(["--output", "json", "setup", "--check"]),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    for region in REGIONS {
        assert_eq!(region_report(&json(&out), region)["status"], "up-to-date");
    }
}

#[test]
fn invalid_input_is_exit_3_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let f = random_file(dir.path(), "f.bin", 10, 1);
    let f = f.to_str().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["stage", "bad/name", "1.0.0", f], "^[a-zA-Z0-9_\\-.]+$"),
        (vec!["stage", "app", "v1.0.0", f], "canonical form"),
        (vec!["stage", "app", "1.0", f], "canonical form"),
        (
            vec!["stage", "app", "1.0.0", "missing.bin"],
            "cannot read the artifact",
        ),
        (
            vec![
                "stage",
                "app",
                "1.0.0",
                f,
                "--metadata",
                "provision:sha256=x",
            ],
            "reserved",
        ),
        (
            vec!["stage", "app", "1.0.0", f, "--metadata", "novalue"],
            "KEY=VALUE",
        ),
        (
            vec!["stage", "app", "1.0.0", f, "--filename=../x"],
            "--filename",
        ),
        (vec!["download", "app", "1.2", "out"], "canonical form"),
        (vec!["download", "app", "sub"], "is a directory"),
        (
            vec!["download", "app", "out", "--filename"],
            "existing directory",
        ),
        (
            vec!["presign", "app", "1.0.0", "--expires", "8d"],
            "longer than 7 days",
        ),
        (
            vec!["presign", "app", "1.0.0", "--expires", "0s"],
            "shorter than a second",
        ),
        (
            vec!["metadata", "app", "1.0.0", "--set", "startifact:filename=x"],
            "reserved",
        ),
        (vec!["info", "app@1"], "project"),
        // Valid, but nothing says where to read the organisation configuration.
        (
            vec!["stage", "app", "1.0.0", f],
            "no region to read the organisation configuration",
        ),
    ];
    for (args, expected) in cases {
        let (code, out, err) = output(provision(dir.path()).args(&args));
        assert_eq!(code, 3, "{args:?}\n{out}\n{err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

#[test]
fn a_missing_organisation_configuration_is_exit_1_with_a_hint() {
    let st = Storage::on(&shared().url(), &REGIONS, "");
    let work = tempfile::tempdir().unwrap();
    let f = random_file(work.path(), "f.bin", 10, 2);
    let (code, out, err) = output(st.ci(work.path()).args(["stage", "app", "1.0.0"]).arg(&f));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains(&format!(
            "cannot read the organisation configuration {}",
            st.parameter
        )),
        "{err}"
    );
    assert!(err.contains("provision setup"), "{err}");
}

#[test]
fn latest_only_moves_forward_unless_forced() {
    let st = Storage::on(&shared().url(), &REGIONS, "");
    st.setup();
    let work = tempfile::tempdir().unwrap();
    let stage = |version: &str, extra: &[&str]| {
        let f = random_file(
            work.path(),
            &format!("{version}.bin"),
            1000,
            version.len() as u64,
        );
        let (code, out, err) = output(
            st.ci(work.path())
                .args(["stage", "app", version])
                .arg(&f)
                .args(extra),
        );
        assert_eq!(code, 0, "{version}\n{out}\n{err}");
    };
    let latest = || st.parameter_value("eu-west-1", &st.latest_param("app"));
    stage("1.2.0", &[]);
    assert_eq!(latest().as_deref(), Some("1.2.0"));
    stage("1.10.0", &[]);
    assert_eq!(
        latest().as_deref(),
        Some("1.10.0"),
        "numeric, not lexical order"
    );
    stage("1.9.0", &[]);
    assert_eq!(
        latest().as_deref(),
        Some("1.10.0"),
        "an older version does not move it back"
    );
    stage("1.10.1-rc.1", &[]);
    assert_eq!(latest().as_deref(), Some("1.10.1-rc.1"));
    stage("1.10.0-beta", &[]);
    assert_eq!(latest().as_deref(), Some("1.10.1-rc.1"));
    stage("1.0.0", &["--force-latest"]);
    for region in REGIONS {
        assert_eq!(
            st.parameter_value(region, &st.latest_param("app"))
                .as_deref(),
            Some("1.0.0")
        );
    }
}

#[test]
fn other_content_under_a_staged_version_is_refused_and_nothing_changes() {
    let st = Storage::on(&shared().url(), &REGIONS, "");
    st.setup();
    let work = tempfile::tempdir().unwrap();
    let a = random_file(work.path(), "a.bin", 5000, 3);
    let b = random_file(work.path(), "b.bin", 5000, 4);
    let (code, _, err) = output(
        st.ci(work.path())
            .args(["stage", "app", "1.0.0"])
            .arg(&a)
            .args(["--metadata", "k=a"]),
    );
    assert_eq!(code, 0, "{err}");
    let meta_before = st.object("us-east-1", "app@1.0.0/metadata");
    let (code, out, err) = output(
        st.ci(work.path())
            .args(["stage", "app", "1.0.0"])
            .arg(&b)
            .args(["--metadata", "k=b"]),
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("app 1.0.0 is already staged with different content; nothing was changed"),
        "{err}"
    );
    assert!(err.contains("us-east-1"), "names the regions: {err}");
    for region in REGIONS {
        assert_eq!(
            sha256_hex(&st.object(region, "app@1.0.0").unwrap()),
            sha256_file(&a)
        );
    }
    assert_eq!(st.object("us-east-1", "app@1.0.0/metadata"), meta_before);
}

#[test]
fn a_dry_run_uploads_nothing_and_says_what_it_would_do() {
    let st = Storage::on(&shared().url(), &REGIONS, "");
    st.setup();
    let work = tempfile::tempdir().unwrap();
    let f = random_file(work.path(), "f.bin", 20 * MIB, 5);
    let (code, out, err) = output(
        st.ci(work.path())
            .args(["--output", "json", "stage", "app", "1.0.0"])
            .arg(&f)
            .arg("--dry-run"),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let report = json(&out);
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["part_size"], 8 * MIB);
    assert_eq!(report["sha256"], sha256_file(&f));
    for region in REGIONS {
        assert_eq!(region_report(&report, region)["status"], "would-stage");
        assert!(st.keys(region).is_empty(), "{region}: nothing written");
        assert_eq!(st.multipart_uploads(region), 0);
        assert_eq!(st.parameter_value(region, &st.latest_param("app")), None);
    }
}

#[test]
fn copy_mode_uploads_once_and_copies_server_side() {
    let st = Storage::on(&shared().url(), &REGIONS, "copied/");
    st.setup();
    let work = tempfile::tempdir().unwrap();
    for (version, size) in [("1.0.0+build.7", MIB), ("2.0.0-rc.1+build.8", 20 * MIB)] {
        let f = random_file(work.path(), "f.bin", size, size as u64);
        let (code, out, err) = output(
            st.ci(work.path())
                .args(["--output", "json", "stage", "app", version])
                .arg(&f)
                .arg("--copy"),
        );
        assert_eq!(code, 0, "{out}\n{err}");
        let report = json(&out);
        let uploads: Vec<&str> = REGIONS
            .iter()
            .map(|r| region_report(&report, r)["upload"].as_str().unwrap())
            .collect();
        assert_eq!(
            uploads.iter().filter(|u| **u == "copy").count(),
            2,
            "{uploads:?}"
        );
        assert_eq!(
            uploads.iter().filter(|u| **u != "copy").count(),
            1,
            "{uploads:?}"
        );
        let key = format!("copied/app@{version}");
        for region in REGIONS {
            assert_eq!(
                sha256_hex(&st.object(region, &key).unwrap()),
                sha256_file(&f),
                "{region}"
            );
            assert!(st.object(region, &format!("{key}/metadata")).is_some());
        }
        // The copies verify like direct uploads.
        let out_path = work.path().join("back.bin");
        let (code, _, err) = output(
            st.ci(work.path())
                .args(["download", "app", version])
                .arg(&out_path)
                .args(["--region", "us-east-1"]),
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(sha256_file(&out_path), sha256_file(&f));
    }
}

#[test]
fn list_and_info_show_versions_latest_and_metadata() {
    let st = Storage::on(&shared().url(), &REGIONS, "");
    st.setup();
    let work = tempfile::tempdir().unwrap();
    for v in ["1.0.0", "1.10.0", "1.2.0", "1.2.0-rc.1"] {
        let f = random_file(work.path(), "f.bin", 100, v.len() as u64);
        let (code, _, err) = output(st.ci(work.path()).args(["stage", "app", v]).arg(&f).args([
            "--metadata",
            "lang=rust",
            "--filename=app.tgz",
        ]));
        assert_eq!(code, 0, "{err}");
    }
    // A version only in one region (staged behind provision's back), and a stray key.
    st.put_object("eu-west-1", "app@3.0.0", b"x");
    st.put_object("eu-west-1", "app@notaversion", b"x");

    let (code, out, err) = output(st.ci(work.path()).args(["--output", "json", "list", "app"]));
    assert_eq!(code, 0, "{err}");
    let l = json(&out);
    let versions: Vec<&str> = l["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        ["1.0.0", "1.2.0-rc.1", "1.2.0", "1.10.0", "3.0.0"]
    );
    assert_eq!(l["latest"], "1.10.0");
    assert_eq!(
        l["versions"][4]["regions"],
        serde_json::json!(["eu-west-1"])
    );
    let (code, out, _) = output(st.ci(work.path()).args(["list", "app"]));
    assert_eq!(code, 0);
    let line = |v: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(v))
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
    };
    assert_eq!(line("1.10.0").as_deref(), Some("latest"), "{out}");
    assert_eq!(line("3.0.0").as_deref(), Some("only in eu-west-1"), "{out}");
    assert_eq!(line("1.2.0").as_deref(), Some(""), "{out}");

    let (code, out, err) = output(st.ci(work.path()).args(["--output", "json", "info", "app"]));
    assert_eq!(code, 0, "{err}");
    let i = json(&out);
    assert_eq!(i["version"], "1.10.0");
    assert_eq!(i["size"], 100);
    assert_eq!(i["metadata"]["lang"], "rust");
    assert_eq!(i["metadata"]["startifact:filename"], "app.tgz");
    assert_eq!(i["schema"], "provision.info/v1");
    let (code, out, _) = output(st.ci(work.path()).args(["info", "app", "1.2.0"]));
    assert_eq!(code, 0);
    assert!(out.starts_with("app 1.2.0\n"), "{out}");
    assert!(out.contains("lang                = rust"), "{out}");
}

#[test]
fn metadata_set_adds_keys_keeps_the_others_and_refuses_reserved_ones() {
    let st = Storage::on(&shared().url(), &REGIONS, "");
    st.setup();
    let work = tempfile::tempdir().unwrap();
    let f = random_file(work.path(), "f.bin", 100, 9);
    let sha = sha256_file(&f);
    let (code, _, err) = output(
        st.ci(work.path())
            .args(["stage", "app", "1.0.0"])
            .arg(&f)
            .args(["--metadata", "a=1", "--filename"]),
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = output(
        st.ci(work.path())
            .args(["metadata", "app", "latest", "--set", "b=2", "--set", "a=3"]),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let expected = format!(
        "{{\n  \"a\": \"3\",\n  \"b\": \"2\",\n  \"provision:sha256\": \"{sha}\",\n  \"startifact:filename\": \"f.bin\"\n}}"
    );
    for region in REGIONS {
        let m = String::from_utf8(st.object(region, "app@1.0.0/metadata").unwrap()).unwrap();
        assert_eq!(m, expected, "{region}");
    }
    let (code, out, _) = output(st.ci(work.path()).args([
        "--output", "json", "metadata", "app", "1.0.0", "--set", "b=2",
    ]));
    assert_eq!(code, 0);
    assert_eq!(
        region_report(&json(&out), "eu-west-1")["status"],
        "unchanged"
    );
    let (code, _, err) = output(st.ci(work.path()).args([
        "metadata",
        "app",
        "1.0.0",
        "--set",
        "provision:sha256=0",
    ]));
    assert_eq!(code, 3, "{err}");
    let (code, _, err) = output(
        st.ci(work.path())
            .args(["metadata", "app", "9.9.9", "--set", "x=1"]),
    );
    assert_eq!(code, 1, "not staged: {err}");
}

/// A plain HTTP/1.1 GET (the emulator is on loopback): status and body.
fn http_get(url: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = TcpStream::connect(host).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let status = head[9..12].parse().unwrap();
    let mut body = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let len = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap().trim(), 16)
                .unwrap();
            if len == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + len]);
            rest = &rest[eol + 4 + len..];
        }
        body = out;
    }
    (status, body)
}

#[test]
fn presign_gives_a_url_that_downloads_the_artifact() {
    let st = Storage::on(&shared().url(), &REGIONS, "p/");
    st.setup();
    let work = tempfile::tempdir().unwrap();
    let f = random_file(work.path(), "f.bin", 4000, 10);
    let (code, _, err) = output(
        st.ci(work.path())
            .args(["stage", "app", "1.0.0+b.1"])
            .arg(&f),
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = output(st.ci(work.path()).args([
        "--output",
        "json",
        "presign",
        "app",
        "latest",
        "--expires",
        "15m",
        "--region",
        "eu-west-1",
    ]));
    assert_eq!(code, 0, "{err}");
    let p = json(&out);
    assert_eq!(p["region"], "eu-west-1");
    assert_eq!(p["expires_in_seconds"], 900);
    let url = p["url"].as_str().unwrap();
    assert!(url.contains("X-Amz-Expires=900"), "{url}");
    let (status, body) = http_get(url);
    assert_eq!(status, 200);
    assert_eq!(sha256_hex(&body), sha256_file(&f));
    let (code, out, _) =
        output(
            st.ci(work.path())
                .args(["presign", "app", "1.0.0+b.1", "--expires", "7d"]),
        );
    assert_eq!(code, 0);
    assert!(
        out.trim().starts_with("http://") && out.contains("X-Amz-Expires=604800"),
        "{out}"
    );
}

#[test]
fn download_filename_cannot_escape_the_directory() {
    let st = Storage::on(&shared().url(), &REGIONS, "");
    st.setup();
    let work = tempfile::tempdir().unwrap();
    let f = random_file(work.path(), "f.bin", 100, 11);
    let (code, _, err) = output(
        st.ci(work.path())
            .args(["stage", "app", "1.0.0"])
            .arg(&f)
            .arg("--filename"),
    );
    assert_eq!(code, 0, "{err}");
    let sha = sha256_file(&f);
    let target = tempfile::tempdir().unwrap();
    let inner = target.path().join("inner");
    std::fs::create_dir(&inner).unwrap();
    for evil in ["../escaped", "/tmp/escaped", "..", "a/b"] {
        let doc = format!(
            "{{\n  \"provision:sha256\": \"{sha}\",\n  \"startifact:filename\": \"{evil}\"\n}}"
        );
        for region in REGIONS {
            st.put_object(region, "app@1.0.0/metadata", doc.as_bytes());
        }
        let (code, out, err) = output(
            st.ci(work.path())
                .args(["download", "app", "1.0.0"])
                .arg(&inner)
                .arg("--filename"),
        );
        assert_eq!(code, 1, "{evil}\n{out}\n{err}");
        assert!(err.contains("refusing the staged file name"), "{err}");
        assert!(
            std::fs::read_dir(&inner).unwrap().next().is_none(),
            "nothing written for {evil}"
        );
        assert!(!target.path().join("escaped").exists());
    }
}
