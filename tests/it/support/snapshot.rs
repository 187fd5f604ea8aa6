//! Command output compared with insta snapshots (as uv's `uv_snapshot!`): what changes from
//! run to run (temporary paths, ports, unique names, account IDs, ARNs and stack IDs,
//! change-set names, durations, request IDs, digests, signatures, dates) is replaced by a
//! placeholder first, by the filters below, the one list of them. Everything else is compared
//! exactly, so the snapshot shows the shape of the output as a user sees it.
//!
//! `assert_output_snapshot!("name", text)` writes `tests/it/snapshots/it__<module>__name.snap`;
//! review a change with `cargo insta review`, or accept it with `INSTA_UPDATE=always`.

use std::path::PathBuf;

/// All snapshots live in `tests/it/snapshots/`, whatever the module's directory.
pub fn directory() -> PathBuf {
    super::repo_root().join("tests/it/snapshots")
}

/// The filters, in the order they apply: (regular expression, replacement).
pub fn filters() -> Vec<(String, String)> {
    let temp = std::env::temp_dir();
    let temp = temp.to_string_lossy();
    let pid = std::process::id();
    let mut filters: Vec<(String, String)> = vec![
        // This test run's temporary directories and files (tempfile's `.tmpXXXXXX`), the
        // fake home (under the repository's target/), the repository.
        (
            format!(
                r"{}/\.tmp[A-Za-z0-9]+",
                regex_escape(temp.trim_end_matches('/'))
            ),
            "[TEMP]".into(),
        ),
        (
            regex_escape(&super::command::fake_home().to_string_lossy()),
            "[HOME]".into(),
        ),
        (
            regex_escape(&super::repo_root().to_string_lossy()),
            "[REPO]".into(),
        ),
        // Loopback ports: emulators and the trap.
        (r"127\.0\.0\.1:\d+".into(), "127.0.0.1:[PORT]".into()),
        // Names made unique by `support::unique` (PREFIX-PID-N).
        (format!(r"\b([a-z]+)-{pid}-\d+\b"), "$1-[UNIQUE]".into()),
        // Bucket names CloudFormation generates: `<stack>-<logical id>-<12 random>`.
        (
            r"\b(bucket|logbucket)-[a-z0-9]{12}\b".into(),
            "$1-[RANDOM]".into(),
        ),
        // Change sets: `provision-<seconds>-<hex>`.
        (
            r"\bprovision-\d+-[0-9a-f]{4}\b".into(),
            "provision-[CHANGE_SET]".into(),
        ),
        // Stack IDs, KMS key IDs, request IDs that are UUIDs.
        (
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b".into(),
            "[UUID]".into(),
        ),
        // Request IDs that are not UUIDs (S3's).
        (
            r"(?i)\b(request[ _-]?id|x-amz-request-id|x-amz-id-2)(\W+)[A-Za-z0-9+/=_-]{8,}".into(),
            "$1$2[REQUEST_ID]".into(),
        ),
        // IAM unique IDs of roles and users (moto makes them random).
        (r"\bARO[A-Z0-9]{17,}\b".into(), "[ROLE_ID]".into()),
        (r"\bAID[A-Z0-9]{17,}\b".into(), "[USER_ID]".into()),
        // Account IDs, alone or in ARNs.
        (r"\b\d{12}\b".into(), "[ACCOUNT]".into()),
        // Presigned URLs: signature, date, credential scope.
        (
            r"X-Amz-Signature=[0-9a-f]+".into(),
            "X-Amz-Signature=[SIGNATURE]".into(),
        ),
        (
            r"X-Amz-Date=\d{8}T\d{6}Z".into(),
            "X-Amz-Date=[DATE]".into(),
        ),
        (r"%2F\d{8}%2F".into(), "%2F[DATE]%2F".into()),
        // Digests: SHA-256 (hex), S3 checksums and ETags.
        (r"\b[0-9a-f]{64}\b".into(), "[SHA256]".into()),
        (r#""[0-9a-f]{32}(-\d+)?""#.into(), r#""[ETAG]""#.into()),
        // Timestamps and durations.
        (
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?".into(),
            "[TIMESTAMP]".into(),
        ),
        // Measured durations (`(0.2 s)`, `"seconds": 0.213`, `elapsed_ms=12`), not a
        // duration the user gave (`--expires 15m`).
        (r"\b\d+\.\d+ ?(ms|s)\b".into(), "[TIME]".into()),
        (
            r#""seconds": \d+(\.\d+)?"#.into(),
            r#""seconds": "[TIME]""#.into(),
        ),
        (
            r"\belapsed_ms([=:] ?)\d+".into(),
            "elapsed_ms$1[TIME]".into(),
        ),
    ];
    // Trailing whitespace, so that editors may strip it from snapshot files.
    filters.push((r"([^\s])[ \t]+(\r?\n)".into(), "$1$2".into()));
    filters
}

/// Escapes the characters that mean something in a regular expression.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A command's result as one text: exit code, then stdout and stderr.
pub fn command_output(code: i32, stdout: &str, stderr: &str) -> String {
    format!("exit_code: {code}\n----- stdout -----\n{stdout}\n----- stderr -----\n{stderr}")
}

/// The part of stderr from the first `error:` line on: progress lines before it come from
/// regions working concurrently, in no fixed order.
pub fn from_first_error(stderr: &str) -> &str {
    let at = stderr
        .find("error:")
        .unwrap_or_else(|| panic!("no `error:` in stderr:\n{stderr}"));
    &stderr[at..]
}

/// insta settings with the filters and the snapshot directory; the assertion runs inside.
pub fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(directory());
    for (regex, replacement) in filters() {
        settings.add_filter(&regex, replacement);
    }
    settings
}

/// `assert_output_snapshot!("name", text)`: `text` after [`filters`], compared with
/// `tests/it/snapshots/it__<module>__name.snap`.
macro_rules! assert_output_snapshot {
    ($name:expr, $text:expr) => {
        $crate::support::snapshot::settings().bind(|| insta::assert_snapshot!($name, $text))
    };
}
pub(crate) use assert_output_snapshot;
