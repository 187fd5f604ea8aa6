//! The emulator: moto servers on free loopback ports, from the repository's virtual
//! environment (`scripts/python-env moto`, which the test command runs). Without it the tests
//! fail: they never skip.
//!
//! One emulator is [`shared`] by every test of the binary (tests isolate themselves by unique
//! names). A test that needs emulators of its own (a region outage: one per region, one
//! stopped) reserves them first with [`Emulators::reserve`]: at most [`PRIVATE_EMULATORS`]
//! run at once in the whole binary, whatever the number of test threads, so that a 2-core
//! machine runs no more emulators than the largest test needs. A test reserves all it needs
//! at once, so two tests never wait on each other.

use super::command::{command, venv_path};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Private emulators running at once, at most (the most one test needs: one per region of
/// the staging tests).
pub const PRIVATE_EMULATORS: usize = 3;

fn moto_server_path() -> PathBuf {
    venv_path("moto", "moto_server")
}

fn free_port() -> u16 {
    let l =
        TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    l.local_addr().expect("local address").port()
}

fn log_path(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("moto-{port}.log"))
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// Waits until something answers on `port`, or `child` (when given) exits.
fn wait_ready(port: u16, mut child: Option<&mut Child>, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(child) = child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            return Err(format!(
                "moto exited with {status} (log: {})",
                log_path(port).display()
            ));
        }
        if TcpStream::connect_timeout(
            &SocketAddrV4::new(Ipv4Addr::LOCALHOST, port).into(),
            Duration::from_millis(200),
        )
        .is_ok()
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "no answer on port {port} within {timeout:?} (log: {})",
        log_path(port).display()
    ))
}

/// Private emulators reserved by one test. Each [`Emulators::start`] uses one reservation;
/// the reservations return when the `Emulators` and every emulator started from it are gone.
pub struct Emulators {
    lease: Arc<Lease>,
    left: usize,
}

/// `count` reservations out of [`PRIVATE_EMULATORS`]; returned on drop.
struct Lease {
    count: usize,
}

fn in_use() -> &'static (Mutex<usize>, Condvar) {
    static IN_USE: OnceLock<(Mutex<usize>, Condvar)> = OnceLock::new();
    IN_USE.get_or_init(|| (Mutex::new(0), Condvar::new()))
}

impl Emulators {
    /// Reserves `count` private emulators, waiting while other tests use too many.
    pub fn reserve(count: usize) -> Emulators {
        assert!(
            (1..=PRIVATE_EMULATORS).contains(&count),
            "a test may reserve 1 to {PRIVATE_EMULATORS} private emulators, not {count}"
        );
        let (lock, freed) = in_use();
        let mut used = lock.lock().unwrap_or_else(|e| e.into_inner());
        while *used + count > PRIVATE_EMULATORS {
            used = freed.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += count;
        Emulators {
            lease: Arc::new(Lease { count }),
            left: count,
        }
    }

    /// Starts one of the reserved emulators on a free loopback port and waits until it answers.
    pub fn start(&mut self) -> Moto {
        assert!(self.left > 0, "more emulators started than reserved");
        self.left -= 1;
        let exe = moto_server_path();
        let mut last_err = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log = std::fs::File::create(log_path(port)).expect("moto log file");
            let child = command(&exe)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log handle"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
            let mut moto = Moto {
                port,
                child: Some(child),
                _lease: Arc::clone(&self.lease),
            };
            match wait_ready(port, moto.child.as_mut(), Duration::from_secs(30)) {
                Ok(()) => return moto,
                Err(e) => {
                    last_err = e;
                    moto.stop();
                }
            }
        }
        panic!("the moto emulator did not start: {last_err}");
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let (lock, freed) = in_use();
        let mut used = lock.lock().unwrap_or_else(|e| e.into_inner());
        *used -= self.count;
        freed.notify_all();
    }
}

/// A private emulator. Stopped (killed) on drop, or explicitly with [`Moto::stop`].
pub struct Moto {
    port: u16,
    child: Option<Child>,
    _lease: Arc<Lease>,
}

impl Moto {
    pub fn url(&self) -> String {
        url(self.port)
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

/// The emulator shared by every test of the binary. It lives on as long as the test process:
/// a pipe to its stdin closes when the process exits, and a watchdog wrapper ends moto then.
pub fn shared() -> &'static SharedMoto {
    static SHARED: OnceLock<SharedMoto> = OnceLock::new();
    SHARED.get_or_init(start_long_lived)
}

/// A long-lived emulator of one group of tests (`group`), started when the group first asks:
/// for a group whose fixed names (the examples as they are) or account-wide state (an
/// organisation) would meet the other groups' on the shared emulator. Idle once the group is
/// done; it ends with the process.
pub fn dedicated(group: &'static str) -> &'static SharedMoto {
    static DEDICATED: Mutex<Vec<(&'static str, &'static SharedMoto)>> = Mutex::new(Vec::new());
    let mut all = DEDICATED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, moto)) = all.iter().find(|(g, _)| *g == group) {
        return moto;
    }
    let moto: &'static SharedMoto = Box::leak(Box::new(start_long_lived()));
    all.push((group, moto));
    moto
}

fn start_long_lived() -> SharedMoto {
    let exe = moto_server_path();
    let port = free_port();
    let log = std::fs::File::create(log_path(port)).expect("moto log file");
    // `sh` waits for stdin to close (our process exited), then kills moto.
    let script = format!(
        "{exe} -H 127.0.0.1 -p {port} & pid=$!; cat >/dev/null; kill $pid",
        exe = exe.display()
    );
    let child = command("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .expect("start the shared moto server");
    wait_ready(port, None, Duration::from_secs(30)).expect("shared moto server");
    // Keep the child (and its stdin pipe) alive for the life of the process.
    SharedMoto {
        port,
        _child: Mutex::new(child),
    }
}

pub struct SharedMoto {
    port: u16,
    _child: Mutex<Child>,
}

impl SharedMoto {
    pub fn url(&self) -> String {
        url(self.port)
    }
}
