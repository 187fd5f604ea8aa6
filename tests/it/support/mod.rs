//! The test bed shared by every group: commands built without the developer's environment
//! ([`command`]), real moto servers on loopback ports ([`moto`]), SDK clients to check results
//! through the AWS APIs ([`aws`]), artifact storage made by the test itself ([`storage`]),
//! reading JSON reports ([`report`]), snapshots of command output with filters
//! ([`snapshot`]), and the loopback [`trap`] that catches any request meant for somewhere else.

pub mod aws;
pub mod command;
pub mod deployed;
pub mod moto;
pub mod moto_s3;
pub mod parity;
pub mod report;
pub mod schema;
pub mod snapshot;
pub mod storage;
pub mod terraform;
pub mod trap;

pub use aws::{s3_client, sdk_config, sdk_config_as};
pub use command::{command, provision, venv_tool};
pub use moto::{Emulators, dedicated, shared};

use std::path::PathBuf;
use std::process::Command;

/// The account moto reports.
pub const ACCOUNT_ID: &str = "123456789012";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every example configuration of examples/, by name (`minimal`, ...), sorted.
pub fn examples() -> Vec<(String, PathBuf)> {
    let mut out: Vec<_> = std::fs::read_dir(repo_root().join("examples"))
        .expect("examples/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    out.sort();
    assert!(
        out.len() >= 5,
        "expected at least five examples, found {out:?}"
    );
    out
}

/// A unique, valid name for this test run (stack names, projects): `PREFIX-PID-N`.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs a command and returns (exit code, stdout, stderr).
pub fn output(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

/// IAM returns policy documents URL-encoded.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%' && i + 3 <= b.len())
            .then(|| {
                std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .flatten();
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
