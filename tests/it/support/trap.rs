//! A loopback trap: the default endpoint and the HTTP(S) proxy of every command the tests run
//! (see [`command`](super::command)). Nothing legitimate reaches it. A request that does (an
//! emulator endpoint forgotten, or a real AWS endpoint through the proxy) is answered
//! `403 Forbidden`, recorded, and goes no further than 127.0.0.1.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

struct Trap {
    port: u16,
    /// The head (and up to 64 KiB of body) of every request that reached the trap.
    seen: Mutex<Vec<String>>,
}

fn trap() -> &'static Trap {
    static TRAP: OnceLock<Trap> = OnceLock::new();
    TRAP.get_or_init(|| {
        let listener = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
            .expect("bind the loopback trap");
        let port = listener.local_addr().expect("trap address").port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || answer(stream));
            }
        });
        Trap {
            port,
            seen: Mutex::new(Vec::new()),
        }
    })
}

/// `http://127.0.0.1:PORT` of the trap.
pub fn url() -> String {
    format!("http://127.0.0.1:{}", trap().port)
}

/// Every request the trap has received so far (head and the start of the body, as text).
pub fn requests() -> Vec<String> {
    trap().seen.lock().map(|s| s.clone()).unwrap_or_default()
}

/// What the trap says, in every request's language, so that the tool shows it.
pub const MESSAGE: &str =
    "blocked by the test bed's loopback trap: no request may leave this machine";

fn answer(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = read_request(&mut stream);
    let head = request.to_lowercase();
    // An error body each AWS protocol can parse: JSON, query (IAM, STS, CloudFormation) or
    // S3's REST-XML.
    let (content_type, body) = if head.contains("content-type: application/x-amz-json") {
        (
            "application/x-amz-json-1.1",
            format!(r#"{{"__type":"AccessDeniedException","message":"{MESSAGE}"}}"#),
        )
    } else if head.contains("content-type: application/x-www-form-urlencoded") {
        (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{MESSAGE}</Message></Error></ErrorResponse>"
            ),
        )
    } else {
        (
            "application/xml",
            format!("<Error><Code>AccessDenied</Code><Message>{MESSAGE}</Message></Error>"),
        )
    };
    if let Ok(mut seen) = trap().seen.lock() {
        seen.push(request);
    }
    let _ = write!(
        stream,
        "HTTP/1.1 403 Forbidden\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// The request head, and its body up to `Content-Length` (at most 64 KiB).
fn read_request(stream: &mut TcpStream) -> String {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let mut wanted: Option<usize> = None;
    loop {
        if let Some(total) = wanted
            && raw.len() >= total
        {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
        if wanted.is_none()
            && let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n")
        {
            let head = String::from_utf8_lossy(&raw[..end]).to_lowercase();
            let body_len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0)
                .min(64 * 1024);
            wanted = Some(end + 4 + body_len);
        }
    }
    String::from_utf8_lossy(&raw).into_owned()
}
