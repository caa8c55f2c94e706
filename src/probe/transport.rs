//! The byte stream to the server, and a recording of what the server sends first.
//!
//! ssh reaches a host directly (DNS, then TCP to each address in turn) or through a route
//! (`ProxyJump`, `ProxyCommand`); either way what comes out is a stream the SSH handshake
//! runs over. [`Recorder`] wraps that stream and keeps the first bytes the server sends —
//! its identification and its KEXINIT, which are not encrypted — so negotiation can be judged
//! the way ssh judges it, from the server's complete offer.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::client::ConnectFailure;

/// How much of the server's first bytes to keep: an identification line and one KEXINIT
/// (a few hundred bytes to a few KiB) fit with room to spare.
const RECORD_LIMIT: usize = 64 * 1024;

/// Anything the SSH handshake can run over.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A stream that remembers the first bytes read from it.
pub struct Recorder<S> {
    inner: S,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl<S> Recorder<S> {
    /// Wrap `inner`; the returned handle reads what has been recorded so far.
    pub fn new(inner: S) -> (Self, Arc<Mutex<Vec<u8>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        (
            Recorder {
                inner,
                seen: seen.clone(),
            },
            seen,
        )
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recorder<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &r {
            let new = &buf.filled()[before..];
            if let Ok(mut seen) = self.seen.lock()
                && seen.len() < RECORD_LIMIT
            {
                let room = RECORD_LIMIT - seen.len();
                seen.extend_from_slice(&new[..new.len().min(room)]);
            }
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recorder<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// `AddressFamily`: the addresses ssh asks getaddrinfo for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Any,
    Inet,
    Inet6,
}

impl Family {
    pub fn of(s: &crate::probe::plan::HostSettings) -> Family {
        match s.resolved.get("addressfamily") {
            Some("inet") => Family::Inet,
            Some("inet6") => Family::Inet6,
            _ => Family::Any,
        }
    }

    fn admits(self, a: &std::net::SocketAddr) -> bool {
        match self {
            Family::Any => true,
            Family::Inet => a.is_ipv4(),
            Family::Inet6 => a.is_ipv6(),
        }
    }
}

/// DNS, then TCP to each address in turn (as ssh's `ssh_connect_direct` does), each failure
/// told apart. Only the addresses of `family` count: `AddressFamily inet6` with a host that
/// has only IPv4 addresses is a resolution failure for ssh ("Could not resolve hostname").
/// `timeout` bounds the whole attempt.
pub async fn connect_direct(
    host: &str,
    port: u16,
    family: Family,
    timeout: Duration,
) -> Result<tokio::net::TcpStream, ConnectFailure> {
    let attempt = async {
        let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| ConnectFailure::Dns(e.to_string()))?
            .filter(|a| family.admits(a))
            .collect();
        if addrs.is_empty() {
            return Err(ConnectFailure::Dns(match family {
                Family::Any => format!("no address for {host}"),
                Family::Inet => format!("no IPv4 address for {host} (AddressFamily inet)"),
                Family::Inet6 => format!("no IPv6 address for {host} (AddressFamily inet6)"),
            }));
        }
        let mut last = None;
        for a in &addrs {
            match tokio::net::TcpStream::connect(a).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Err(e) => last = Some(e),
            }
        }
        match last {
            Some(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                Err(ConnectFailure::Refused(e.to_string()))
            }
            e => Err(ConnectFailure::Closed(
                e.map(|e| e.to_string()).unwrap_or_default(),
            )),
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(r) => r,
        Err(_) => Err(ConnectFailure::Timeout),
    }
}
