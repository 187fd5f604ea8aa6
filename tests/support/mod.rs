//! Test bed shared by the end-to-end tests: a real moto server on a free loopback port,
//! the `provision` binary pointed at it, and SDK clients to check results through AWS APIs.
//!
//! The emulator comes from the repository's virtual environment (`scripts/python-env moto`,
//! which the test command runs). Without it the tests fail: they never skip.
#![allow(dead_code)]

pub mod deployed;
pub mod moto_s3;
pub mod parity;
pub mod report;
pub mod storage;
pub mod terraform;

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

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

fn moto_server_path() -> PathBuf {
    let path = repo_root().join(".venv/moto/bin/moto_server");
    assert!(
        path.exists(),
        "the moto emulator is not installed at {}: run `scripts/python-env moto` (scripts/test does)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    let l =
        TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    l.local_addr().expect("local address").port()
}

/// A running moto server. Stopped (killed) on drop, or explicitly with [`Moto::stop`].
pub struct Moto {
    pub port: u16,
    child: Option<Child>,
}

impl Moto {
    /// Starts a fresh emulator on a free loopback port and waits until it answers.
    pub fn start() -> Moto {
        let exe = moto_server_path();
        let mut last_err = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log = std::fs::File::create(std::env::temp_dir().join(format!("moto-{port}.log")))
                .expect("moto log file");
            let child = Command::new(&exe)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log handle"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
            let mut moto = Moto {
                port,
                child: Some(child),
            };
            match moto.wait_ready(Duration::from_secs(30)) {
                Ok(()) => return moto,
                Err(e) => {
                    last_err = e;
                    moto.stop();
                }
            }
        }
        panic!("the moto emulator did not start: {last_err}");
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!(
                    "moto exited with {status} (log: {})",
                    self.log_path().display()
                ));
            }
            if TcpStream::connect_timeout(
                &SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port).into(),
                Duration::from_millis(200),
            )
            .is_ok()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "no answer on port {} within {timeout:?}",
            self.port
        ))
    }

    pub fn log_path(&self) -> PathBuf {
        std::env::temp_dir().join(format!("moto-{}.log", self.port))
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the emulator now (a region outage).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One emulator shared by every test of a test binary (tests isolate themselves by unique
/// names). It lives on a thread that never ends, and dies with the test process: a pipe to
/// its stdin closes when the process exits and a watchdog wrapper ends moto then.
pub fn shared() -> &'static SharedMoto {
    static SHARED: OnceLock<SharedMoto> = OnceLock::new();
    SHARED.get_or_init(|| {
        let exe = moto_server_path();
        let port = free_port();
        let log = std::fs::File::create(std::env::temp_dir().join(format!("moto-{port}.log")))
            .expect("moto log file");
        // `sh` waits for stdin to close (our process exited), then kills moto.
        let script = format!(
            "{exe} -H 127.0.0.1 -p {port} & pid=$!; cat >/dev/null; kill $pid",
            exe = exe.display()
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start the shared moto server");
        let mut probe = Moto { port, child: None };
        probe
            .wait_ready(Duration::from_secs(30))
            .expect("shared moto server");
        // Keep the child (and its stdin pipe) alive for the life of the process.
        SharedMoto {
            port,
            _child: std::sync::Mutex::new(child),
        }
    })
}

pub struct SharedMoto {
    pub port: u16,
    _child: std::sync::Mutex<Child>,
}

impl SharedMoto {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A unique, valid name for this test run (stack names, projects).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The `provision` binary with an environment that can only reach the emulator: fixed test
/// credentials, no shared config files, no instance metadata.
pub fn provision(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_provision"));
    cmd.current_dir(dir);
    for (k, v) in test_env() {
        cmd.env(k, v);
    }
    cmd.env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_REGION")
        .env_remove("STARTIFACT_PARAMETER")
        .env_remove("STARTIFACT_REGIONS")
        .env_remove("PROVISION_FILE");
    cmd
}

pub fn test_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_SESSION_TOKEN", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config".into()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials".into(),
        ),
        ("NO_COLOR", "1".into()),
    ]
}

/// SDK configuration for checks made by the test itself, straight against the emulator.
pub async fn sdk_config(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    use aws_credential_types::Credentials;
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            Some("testing".into()),
            None,
            "tests",
        ))
        .load()
        .await
}

pub async fn s3_client(endpoint: &str, region: &str) -> aws_sdk_s3::Client {
    let conf = sdk_config(endpoint, region).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    )
}

/// Runs a command and returns (exit code, stdout, stderr), printing them on failure paths.
pub fn output(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run provision");
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
