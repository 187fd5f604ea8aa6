//! The shaped test bed (`scripts/shaped_bed.py`, driven by `scripts/bench-shaped`) imposes
//! the round-trip times and bandwidth it is configured with, within 10 %.
//!
//! This checks the bed, not `provision`: the benchmarks' numbers mean something only if the
//! links are what the profile says. A plain HTTP server on a loopback port stands in for the
//! emulator (it answers at once, so every millisecond measured is the bed's), and the client
//! is raw TCP. Two regions: `eu-west-1` at 150 ms through its own listener, `ap-southeast-2`
//! at 300 ms through the router listener (region read from the SigV4 credential scope); a
//! shared 16 MB/s uplink and downlink, and a 12 MB/s upload cap per region. The far
//! region's upstream closes its connection after every answer, like moto: the bed keeps the
//! client's connection open (and says so), so only a new client connection pays the set-up.
//!
//! The bed runs on `.venv/moto/bin/python` (standard library only); a missing interpreter
//! fails the test with the command that installs it.
//!
//! This is the one test binary besides `it` (docs/testing.md, "Layout"): it measures time
//! within 10 %, so it must not share the machine with the tests of the same process, and cargo
//! runs test binaries one after the other. It links neither the SDK nor `provision`. Its
//! commands get a cleared environment ([`bare`]), as the test bed's do.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MB: usize = 1_000_000;
const NEAR_RTT: f64 = 0.150;
const FAR_RTT: f64 = 0.300;
const SHARED: f64 = 16.0 * MB as f64;
const REGION_UP: f64 = 12.0 * MB as f64;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `program` with nothing of the developer's shell but `PATH` (a `PYTHONHOME` or `PYTHONPATH`
/// there would break the bed's interpreter).
fn bare(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd
}

/// Reads one HTTP/1.1 request (head and Content-Length body); `None` at end of stream.
fn read_request(r: &mut BufReader<TcpStream>) -> Option<(String, usize)> {
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0u8; 1 << 16];
    let mut left = length;
    while left > 0 {
        let n = r.read(&mut body[..left.min(1 << 16)]).ok()?;
        if n == 0 {
            return None;
        }
        left -= n;
    }
    Some((head, length))
}

/// An upstream that answers every request at once, in one write: `?n=N` in the path asks
/// for N body bytes (2 otherwise); `close` in the path makes it close the connection after
/// the answer, as moto's development server does after every answer.
fn start_upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the upstream");
    let port = listener.local_addr().expect("upstream address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut w = stream.try_clone().expect("clone the stream");
                let mut r = BufReader::new(stream);
                while let Some((head, _)) = read_request(&mut r) {
                    let target = head.split_whitespace().nth(1).unwrap_or_default();
                    let n = target
                        .split("n=")
                        .nth(1)
                        .and_then(|v| v.split('&').next())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(2usize);
                    let close = target.contains("close");
                    let mut out = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n{}\r\n",
                        if close { "Connection: close\r\n" } else { "" }
                    )
                    .into_bytes();
                    out.resize(out.len() + n, b'x');
                    if w.write_all(&out).is_err() || close {
                        return;
                    }
                }
            });
        }
    });
    port
}

struct Bed {
    child: Child,
    near: u16,
    router: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_bed(upstream: u16) -> Bed {
    let python = root().join(".venv/moto/bin/python");
    assert!(
        python.exists(),
        "the bed's Python is not installed at {}: run `scripts/python-env moto` (scripts/test does)",
        python.display()
    );
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = std::env::var_os("SHAPED_BED_LOG")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.path().join("bed.jsonl"));
    let url = format!("http://127.0.0.1:{upstream}");
    let mut child = bare(&python)
        .arg(root().join("scripts/shaped_bed.py"))
        .args(["serve", "--profile", "ci"])
        .args(["--upstream", &format!("eu-west-1={url}")])
        .args(["--upstream", &format!("ap-southeast-2={url}")])
        .args(["--rtt", "eu-west-1=150", "--rtt", "ap-southeast-2=300"])
        .args([
            "--up",
            "16",
            "--down",
            "16",
            "--region-up",
            "12",
            "--region-down",
            "0",
        ])
        .args(["--setup-rtts", "1", "--log"])
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("bed stdout"))
        .read_line(&mut line)
        .expect("the bed prints its ports");
    let ports: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bed said {line:?}: {e}"));
    let port = |v: &serde_json::Value| v.as_u64().expect("a port") as u16;
    Bed {
        near: port(&ports["regions"]["eu-west-1"]),
        router: port(&ports["router"]),
        child,
        log,
        _dir: dir,
    }
}

/// A keep-alive client connection; `scope` is the region its requests are signed for.
/// With `upstream_closes`, the upstream closes its side after every answer (as moto does):
/// the bed must keep this connection open all the same.
struct Client {
    stream: BufReader<TcpStream>,
    scope: &'static str,
    upstream_closes: bool,
}

impl Client {
    fn connect(port: u16, scope: &'static str) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the bed");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream: BufReader::new(stream),
            scope,
            upstream_closes: false,
        }
    }

    /// One exchange: sends `body` bytes, asks for `want` bytes back; returns the time taken.
    fn exchange(&mut self, method: &str, body: usize, want: usize) -> Duration {
        self.timed_exchange(method, body, want).0
    }

    /// [`Client::exchange`], and how long the response body took from its status line on.
    fn timed_exchange(&mut self, method: &str, body: usize, want: usize) -> (Duration, Duration) {
        let head = format!(
            "{method} /bucket/key?n={want}{} HTTP/1.1\r\nHost: bed\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=AKID/20250101/{}/s3/aws4_request, SignedHeaders=host, Signature=0\r\n\
             Content-Length: {body}\r\n\r\n",
            if self.upstream_closes { "&close" } else { "" },
            self.scope
        );
        let start = Instant::now();
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes()).expect("send the head");
        let chunk = vec![b'y'; 1 << 16];
        let mut left = body;
        while left > 0 {
            let n = left.min(chunk.len());
            s.write_all(&chunk[..n]).expect("send the body");
            left -= n;
        }
        let mut status = String::new();
        self.stream.read_line(&mut status).expect("status line");
        let head_at = Instant::now();
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).expect("header");
            let lower = line.to_ascii_lowercase();
            assert_ne!(
                lower.trim(),
                "connection: close",
                "the bed passed on a close"
            );
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().expect("length");
            }
            if line == "\r\n" {
                break;
            }
        }
        assert_eq!(length, want);
        let mut buf = vec![0u8; length];
        self.stream.read_exact(&mut buf).expect("body");
        (start.elapsed(), head_at.elapsed())
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

/// One measured value against its configured value: `(what, measured, configured)`, where a
/// larger value means a slower link (a round trip) or a faster one (a rate) per `slow_if`.
struct Measure {
    what: &'static str,
    measured: f64,
    configured: f64,
    larger_is_slower: bool,
}

impl Measure {
    fn rtt(what: &'static str, measured: f64, configured: f64) -> Measure {
        Measure {
            what,
            measured,
            configured,
            larger_is_slower: true,
        }
    }

    fn rate(what: &'static str, measured: f64, configured: f64) -> Measure {
        Measure {
            what,
            measured,
            configured,
            larger_is_slower: false,
        }
    }

    fn deviation(&self) -> f64 {
        self.measured / self.configured - 1.0
    }

    /// Slower than configured: a loaded machine delays the bed's process, never speeds it.
    fn slow(&self) -> bool {
        let d = self.deviation();
        if self.larger_is_slower {
            d > 0.1
        } else {
            d < -0.1
        }
    }

    fn fast(&self) -> bool {
        let d = self.deviation();
        if self.larger_is_slower {
            d < -0.1
        } else {
            d > 0.1
        }
    }
}

/// Runs `phase` until each of its measures has come out within 10 % of its configured
/// value. A measure that comes out *faster* than configured fails at once: the bed would
/// impose less than it says. One that comes out slower is measured again (five attempts in
/// all), because other processes on a small machine can stall the bed or the client, and a
/// stall only ever makes a link look slower; a measure never within 10 % in five attempts
/// fails.
fn within_10_percent(mut phase: impl FnMut() -> Vec<Measure>) {
    let mut met: Vec<&'static str> = Vec::new();
    let mut report = String::new();
    for attempt in 1..=5 {
        let measures = phase();
        report.clear();
        for m in &measures {
            let line = format!(
                "{}: measured {:.4}, configured {:.4} ({:+.1} %)",
                m.what,
                m.measured,
                m.configured,
                m.deviation() * 100.0
            );
            eprintln!("attempt {attempt}: {line}");
            assert!(!m.fast(), "the bed imposes less than configured: {line}");
            if m.slow() {
                report.push_str(&line);
                report.push('\n');
            } else if !met.contains(&m.what) {
                met.push(m.what);
            }
        }
        if measures.iter().all(|m| met.contains(&m.what)) {
            return;
        }
    }
    panic!("the bed was slower than configured in five attempts:\n{report}");
}

/// Round trips: the first exchange on a new connection pays the connection set-up and the
/// exchange (2 RTT); every later exchange on the same connection pays one RTT again, also
/// when the upstream closes its side after each answer.
fn round_trips(port: u16, scope: &'static str, upstream_closes: bool) -> (f64, f64) {
    let mut c = Client::connect(port, scope);
    c.upstream_closes = upstream_closes;
    let first = c.exchange("GET", 0, 2).as_secs_f64();
    let later = (0..5)
        .map(|_| c.exchange("GET", 0, 2).as_secs_f64())
        .collect();
    (first, median(later))
}

/// The test's threads (client and upstream) are started from this one: where allowed
/// (root), they run at the bed's raised priority, so that a busy machine delays neither side.
fn raise_priority() {
    if let Ok(me) = std::fs::read_link("/proc/thread-self")
        && let Some(tid) = me.file_name().and_then(|t| t.to_str())
    {
        let _ = bare("renice")
            .args(["-n", "-10", "-p", tid])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn the_bed_imposes_its_round_trips_and_bandwidth() {
    raise_priority();
    let upstream = start_upstream();
    let bed = start_bed(upstream);
    let (near, router) = (bed.near, bed.router);

    // A first exchange through each listener warms the bed's code paths (not measured).
    Client::connect(near, "eu-west-1").exchange("GET", 0, 2);
    Client::connect(router, "ap-southeast-2").exchange("GET", 0, 2);

    // Latency: both regions at once (near through its own listener, far through the router).
    let mut latency_attempts = 0;
    within_10_percent(|| {
        latency_attempts += 1;
        let far = std::thread::spawn(move || round_trips(router, "ap-southeast-2", true));
        let (near_first, near_rtt) = round_trips(near, "eu-west-1", false);
        let (far_first, far_rtt) = far.join().expect("far region");
        vec![
            Measure::rtt("eu-west-1 round trip", near_rtt, NEAR_RTT),
            Measure::rtt("ap-southeast-2 round trip (router)", far_rtt, FAR_RTT),
            Measure::rtt("eu-west-1 connect + exchange", near_first, 2.0 * NEAR_RTT),
            Measure::rtt(
                "ap-southeast-2 connect + exchange",
                far_first,
                2.0 * FAR_RTT,
            ),
        ]
    });

    // Bandwidth. Connections are opened (and their set-up paid) first.
    let mut bandwidth_attempts = 0;
    within_10_percent(|| {
        let mut a = Client::connect(near, "eu-west-1");
        let mut b = Client::connect(router, "ap-southeast-2");
        let mut d = Client::connect(near, "eu-west-1");
        for c in [&mut a, &mut b, &mut d] {
            c.exchange("GET", 0, 2);
        }
        // One region alone is held to its own upload cap (12 MB/s < the shared 16 MB/s).
        let alone = a.exchange("PUT", 9 * MB, 2).as_secs_f64();
        // Two regions at once share the uplink: 2 x 10 MB at 16 MB/s together. Meanwhile a
        // download uses the separate downlink at its full 16 MB/s.
        let other = std::thread::spawn(move || b.exchange("PUT", 10 * MB, 2).as_secs_f64());
        let down = std::thread::spawn(move || d.timed_exchange("GET", 0, 10 * MB).1.as_secs_f64());
        let near_up = a.exchange("PUT", 10 * MB, 2).as_secs_f64();
        let far_up = other.join().expect("far upload");
        let down = down.join().expect("download");
        bandwidth_attempts += 1;
        // The link sends the last byte of the two uploads when both have been sent; the last
        // answer reaches the client at most one far round trip later. The download's rate
        // counts from its first bytes on (the status line comes with the first chunk the bed
        // forwards, at most 128 KiB).
        vec![
            Measure::rate(
                "eu-west-1 upload alone (region cap)",
                (9 * MB) as f64 / (alone - NEAR_RTT),
                REGION_UP,
            ),
            Measure::rate(
                "shared uplink, two regions at once",
                (20 * MB) as f64 / (near_up.max(far_up) - FAR_RTT),
                SHARED,
            ),
            Measure::rate(
                "downlink during the uploads",
                (10 * MB - 128 * 1024) as f64 / down,
                SHARED,
            ),
        ]
    });

    // The log the benchmarks count round trips from: every request, in its region. Per
    // attempt, eu-west-1 had 6 round trips and 5 bandwidth exchanges (3 on `a`, 2 on `d`),
    // ap-southeast-2 6 and 2; each listener 1 warm-up.
    let expected = (
        1 + 6 * latency_attempts + 5 * bandwidth_attempts,
        1 + 6 * latency_attempts + 2 * bandwidth_attempts,
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut logged = (0, 0);
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(&bed.log).unwrap_or_default();
        let records: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .filter(|r: &serde_json::Value| r.get("op").is_some())
            .collect();
        assert!(
            records.iter().all(|r| r.get("misrouted").is_none()),
            "a request went to another region's connection: {text}"
        );
        let count = |region: &str| records.iter().filter(|r| r["region"] == region).count();
        logged = (count("eu-west-1"), count("ap-southeast-2"));
        if logged == expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        logged, expected,
        "requests logged per region (eu-west-1, ap-southeast-2)"
    );
}
