//! Broken peers on loopback, for the fault matrix: real sockets that fail in the ways real
//! networks do, so herossh's own client code meets each failure exactly as it would in the field.
//!
//! - [`unresolvable_host`]: a name the resolver rejects without sending a packet.
//! - [`closed_port`]: nothing listens (connection refused).
//! - [`Peer::silent`]: accepts and never says a word (a timeout must end the wait).
//! - [`Peer::hangup`]: accepts, optionally greets (an SSH banner), reads what the client sends
//!   first, then closes (the connection dies mid-handshake).
//! - [`UntrustedTls`]: a real TLS server (`openssl s_server`) whose self-signed certificate no
//!   trust store holds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A host name that cannot resolve, and whose lookup never leaves the machine: a 64-byte label
/// is longer than DNS allows (63), so the resolver refuses to encode the query and fails at
/// once instead of asking the configured name server (which, in CI, is not on loopback).
pub fn unresolvable_host() -> String {
    format!("{}.invalid", "a".repeat(64))
}

/// A loopback port nothing listens on: bound, then released.
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    l.local_addr().unwrap().port()
}

/// A listener that misbehaves on every connection until dropped.
pub struct Peer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// Silent peers keep their connections open (closing would be an answer).
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Peer {
    /// Accepts and holds every connection without reading or writing.
    pub fn silent() -> Peer {
        Peer::start(None, false)
    }

    /// Accepts, writes `greeting` if any, reads the client's first bytes, then closes.
    pub fn hangup(greeting: Option<&'static [u8]>) -> Peer {
        Peer::start(greeting, true)
    }

    fn start(greeting: Option<&'static [u8]>, hang_up: bool) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind peer");
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (st, hd) = (stop.clone(), held.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                if !hang_up {
                    hd.lock().unwrap().push(conn);
                    continue;
                }
                std::thread::spawn(move || {
                    if let Some(g) = greeting {
                        let _ = conn.write_all(g);
                    }
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut buf = [0u8; 4096];
                    let _ = conn.read(&mut buf);
                    // Dropping the stream closes it: the client sees EOF mid-exchange.
                });
            }
        });
        Peer { addr, stop, held }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT`, for `HEROKU_HOST`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        self.held.lock().unwrap().clear();
    }
}

/// `openssl s_server` on 127.0.0.1 with a fresh self-signed certificate for 127.0.0.1.
pub struct UntrustedTls {
    child: Child,
    port: u16,
}

impl UntrustedTls {
    /// Generates the certificate in `dir` and starts the server on a free port.
    pub fn start(dir: &Path) -> UntrustedTls {
        let (key, cert) = (dir.join("tls-key.pem"), dir.join("tls-cert.pem"));
        let st = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .arg("ec_paramgen_curve:prime256v1")
            .args(["-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1"])
            // A server certificate, not a CA: what a misconfigured or intercepting server shows.
            .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run openssl req (install openssl)");
        assert!(st.success(), "openssl req failed");
        let mut child = Command::new("openssl")
            .args(["s_server", "-www", "-accept", "127.0.0.1:0", "-cert"])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run openssl s_server");
        // It prints `ACCEPT 127.0.0.1:PORT` once listening; its stdout is drained for its
        // whole life so it never blocks on a full pipe.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(p) = line.strip_prefix("ACCEPT 127.0.0.1:") {
                    let _ = tx.send(p.trim().parse::<u16>().ok());
                }
            }
        });
        let Ok(Some(port)) = rx.recv_timeout(Duration::from_secs(20)) else {
            let _ = child.kill();
            panic!("openssl s_server did not report its port");
        };
        UntrustedTls { child, port }
    }

    /// `https://127.0.0.1:PORT`, for `HEROKU_HOST`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

impl Drop for UntrustedTls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
