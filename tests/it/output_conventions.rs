//! Output conventions on every reporting command, end to end on the emulator:
//! `--output json` prints exactly one JSON document on stdout with a versioned `schema`;
//! `-q` leaves stderr empty on success; NO_COLOR and `--color` decide about escape codes;
//! nothing prompts without a terminal.

use crate::support::snapshot::assert_output_snapshot;
use crate::support::{output, provision, shared};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd: Command = provision(dir);
    cmd.env("AWS_REGION", "eu-west-1")
        .args(["--endpoint-url", &shared().url()])
        .args(args);
    output(&mut cmd)
}

fn json_doc(kind: &str, args: &[&str], (code, stdout, stderr): &(i32, String, String)) -> Value {
    assert_eq!(
        *code, 0,
        "{args:?}: exit code\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    // One document, valid against its schema (schema/<kind>.schema.json).
    let doc = crate::support::schema::document(stdout);
    assert_eq!(doc["schema"], format!("provision.{kind}/v1"), "{args:?}");
    assert!(
        !stdout.contains('\u{1b}') && !stderr.contains('\u{1b}'),
        "{args:?}: escape codes with NO_COLOR"
    );
    doc
}

#[test]
fn every_reporting_command_speaks_versioned_json_and_honours_quiet_and_colour() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::write(
        d.join("provision.yaml"),
        "version: 1\norganisation: conv\nregions: [eu-west-1, us-east-1]\nstack_name: conventions\n",
    )
    .expect("config");
    std::fs::write(d.join("artifact.bin"), vec![7u8; 100_000]).expect("artifact");

    let steps: &[(&str, &[&str])] = &[
        ("validate", &["validate"]),
        ("render", &["render", "--out", "rendered"]),
        ("plan", &["plan"]),
        ("apply", &["apply", "--yes"]),
        ("status", &["status"]),
        ("setup", &["setup"]),
        ("setup", &["setup", "--check"]),
        (
            "stage",
            &[
                "stage",
                "conv-app",
                "1.0.0",
                "artifact.bin",
                "--metadata",
                "commit=abc",
            ],
        ),
        ("info", &["info", "conv-app"]),
        ("list", &["list", "conv-app"]),
        (
            "metadata",
            &["metadata", "conv-app", "1.0.0", "--set", "reviewed=yes"],
        ),
        (
            "presign",
            &["presign", "conv-app", "1.0.0", "--expires", "15m"],
        ),
        (
            "download",
            &["download", "conv-app", "latest", "downloaded.bin"],
        ),
    ];
    let mut documents = String::new();
    for (kind, args) in steps {
        let mut full = vec!["--output", "json"];
        full.extend_from_slice(args);
        let result = run(d, &full);
        json_doc(kind, args, &result);
        documents.push_str(&format!("$ provision {}\n{}\n", full.join(" "), result.1));
    }
    // The shape of every document (one test, so that a change of a report shows in review).
    assert_output_snapshot!("json_document_of_every_reporting_command", documents);
    assert_eq!(
        std::fs::read(d.join("downloaded.bin")).expect("downloaded"),
        vec![7u8; 100_000]
    );

    // -q: nothing on stderr when all goes well; the requested data only.
    let (code, stdout, stderr) = run(d, &["-q", "stage", "conv-app", "1.0.1", "artifact.bin"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "-q stage wrote to stderr:\n{stderr}");
    assert!(stdout.is_empty(), "-q stage wrote to stdout:\n{stdout}");

    // --color always colours even when not on a terminal; NO_COLOR (set by the harness) and
    // --color never do not.
    let (code, stdout, _) = run(d, &["--color", "always", "status"]);
    assert_eq!(code, 0);
    assert!(stdout.contains('\u{1b}'), "--color always:\n{stdout}");
    let (_, stdout, stderr) = run(d, &["--color", "never", "status"]);
    assert!(!stdout.contains('\u{1b}') && !stderr.contains('\u{1b}'));

    // No terminal: a destructive command refuses to prompt and names the flag.
    let (code, _, stderr) = run(d, &["destroy"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("--yes"), "{stderr}");

    // drift: the emulator cannot detect drift, so every region fails; the document still
    // holds every region, each with its error, valid against schema/drift.schema.json.
    let (code, stdout, stderr) = run(d, &["--output", "json", "drift"]);
    assert_eq!(code, 1, "{stderr}");
    let drift = crate::support::schema::document(&stdout);
    let states: Vec<(&str, &str)> = drift["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .map(|r| {
            (
                r["state"].as_str().unwrap_or(""),
                r["error"]["message"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(states.len(), 2, "{drift}");
    assert!(
        states
            .iter()
            .all(|(state, message)| *state == "failed" && message.contains("unsupported")),
        "{drift}"
    );

    // destroy, last: its document lists what it keeps.
    let result = run(d, &["--output", "json", "destroy", "--yes"]);
    let destroyed = json_doc("destroy", &["destroy", "--yes"], &result);
    assert!(
        destroyed["regions"]
            .as_array()
            .expect("regions")
            .iter()
            .all(|r| r["result"] == "deleted" && r["error"].is_null()),
        "{destroyed}"
    );
}
