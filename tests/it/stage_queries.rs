//! The read and edit commands on the emulator: `list`, `info`, `metadata`, `presign`, and
//! `download --filename` refusing names that would leave the directory.

use crate::support::output;
use crate::support::report::{json, region_report};
use crate::support::snapshot::assert_output_snapshot;
use crate::support::storage::{REGIONS, random_file, set_up, sha256_file, sha256_hex};
use std::io::{Read, Write};
use std::net::TcpStream;

#[test]
fn list_and_info_show_versions_latest_and_metadata() {
    let (st, work) = set_up("");
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
    // Semantic-version order, `latest` marked, a version missing from regions named.
    assert_output_snapshot!("list", out);

    let (code, out, err) = output(st.ci(work.path()).args(["--output", "json", "info", "app"]));
    assert_eq!(code, 0, "{err}");
    json(&out);
    assert_output_snapshot!("info_of_latest_as_json", out);
    let (code, out, _) = output(st.ci(work.path()).args(["info", "app", "1.2.0"]));
    assert_eq!(code, 0);
    assert_output_snapshot!("info", out);
}

#[test]
fn metadata_set_adds_keys_keeps_the_others_and_refuses_reserved_ones() {
    let (st, work) = set_up("");
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
    let (st, work) = set_up("p/");
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
    let (st, work) = set_up("");
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
