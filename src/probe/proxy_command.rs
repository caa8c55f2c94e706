//! `ProxyCommand`, run the way ssh runs it (sshconnect.c `expand_proxy_command`,
//! `ssh_proxy_connect`): `%h %k %n %p %r %%` expanded, `exec ` put in front, handed to
//! `$SHELL -c` (`/bin/sh` when SHELL is unset or empty) with SIGPIPE back at its default;
//! its stdin and stdout are the connection, and it gets SIGHUP when the connection ends.
//!
//! ssh leaves the command's stderr on the terminal. herossh keeps it (the last
//! [`STDERR_LIMIT`] bytes) instead: it is what explains a failed route (`ssh -W` through a
//! jump host says "Permission denied" there), and it would otherwise land in the middle of
//! herossh's own report.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use std::os::fd::OwnedFd;
use std::process::Stdio;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::process::{ChildStdin, ChildStdout};

use super::plan::HostSettings;
use crate::sshconfig::tokens::Tokens;

/// How much of the command's stderr to keep.
pub const STDERR_LIMIT: usize = 8 * 1024;

/// The command line ssh runs for `command` to reach the host `s` describes, tokens expanded
/// (`exec ` not included). Fails as ssh fails ("percent_expand: unknown key %x").
pub fn expand(command: &str, s: &HostSettings) -> Result<String, String> {
    let mut t = Tokens::new();
    t.set('h', s.hostname.clone());
    // HostKeyAlias, lower-cased as ssh does before connecting; else the name as typed.
    t.set(
        'k',
        s.host_key_alias
            .as_deref()
            .map(str::to_ascii_lowercase)
            .unwrap_or_else(|| s.alias.clone()),
    );
    t.set('n', s.alias.clone());
    t.set('p', s.port.to_string());
    t.set('r', s.user.clone());
    t.percent(command).map_err(|e| e.to_string())
}

/// What the runs of one ProxyCommand showed: how the last one ended and what it said.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// How many times it was started.
    pub runs: usize,
    /// The last run's exit code, or `signal N` (None while it runs or when unknown).
    pub status: Option<String>,
    /// The last run's stderr (at most [`STDERR_LIMIT`] bytes, the end kept).
    pub stderr: String,
    /// The last run's stderr is complete (the command closed it).
    stderr_done: bool,
    /// It could not be started at all.
    pub spawn_error: Option<String>,
    /// It passed back a connected socket (`ProxyUseFdpass`): its exit is then expected.
    pub passed_socket: bool,
}

/// A ProxyCommand, expanded, ready to be started for each connection.
#[derive(Debug)]
pub struct ProxyCommand {
    /// The expanded command line (as ssh's `debug1: Executing proxy command: exec …`, without
    /// `exec `).
    pub command: String,
    info: Arc<Mutex<RunInfo>>,
}

impl ProxyCommand {
    pub fn new(command: String) -> ProxyCommand {
        ProxyCommand {
            command,
            info: Arc::default(),
        }
    }

    /// What the runs showed so far.
    pub fn info(&self) -> RunInfo {
        self.info.lock().map(|i| i.clone()).unwrap_or_default()
    }

    /// Wait (at most `limit`) until the last run has ended and its stderr is read: after a
    /// failed handshake, so the report can say why.
    pub async fn settle(&self, limit: Duration) -> RunInfo {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let info = self.info();
            if (info.status.is_some() && info.stderr_done)
                || info.spawn_error.is_some()
                || tokio::time::Instant::now() >= deadline
            {
                return info;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Start the command: its stdin and stdout are the returned stream.
    pub fn spawn(&self) -> std::io::Result<ProxyStream> {
        let mut run = self.launch(Stdio::piped(), Stdio::piped())?;
        let (Some(stdin), Some(stdout)) = (run.child_stdin.take(), run.child_stdout.take()) else {
            return Err(std::io::Error::other("the command's pipes were not set up"));
        };
        Ok(ProxyStream {
            stdin,
            stdout,
            pid: run.pid,
            exited: run.exited,
        })
    }

    /// `ProxyUseFdpass yes` (sshconnect.c `ssh_proxy_fdpass_connect`): the command's stdin
    /// and stdout are one end of a socket pair, it passes a connected socket back over it,
    /// and ssh waits for it to exit before using that socket. Both waits are bounded here.
    pub async fn connect_fdpass(&self, timeout: Duration) -> std::io::Result<TcpStream> {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
        let theirs_out = theirs.try_clone()?;
        let run = self.launch(
            Stdio::from(OwnedFd::from(theirs)),
            Stdio::from(OwnedFd::from(theirs_out)),
        )?;
        ours.set_read_timeout(Some(timeout))?;
        let fd = tokio::task::spawn_blocking(move || receive_fd(&ours))
            .await
            .map_err(std::io::Error::other)??;
        if let Ok(mut i) = self.info.lock() {
            i.passed_socket = true;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        while !run.exited.lock().map(|e| *e).unwrap_or(true) {
            if tokio::time::Instant::now() >= deadline {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the proxy dialer passed a connection but did not exit",
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let sock = std::net::TcpStream::from(fd);
        sock.set_nonblocking(true)?;
        TcpStream::from_std(sock)
    }

    /// Start `$SHELL -c "exec COMMAND"` with this stdin and stdout; its stderr is kept and its
    /// exit recorded (see [`RunInfo`]).
    fn launch(&self, stdin: Stdio, stdout: Stdio) -> std::io::Result<Launched> {
        let shell = std::env::var_os("SHELL")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".into());
        let mut cmd = tokio::process::Command::new(shell);
        cmd.arg("-c")
            .arg(format!("exec {}", self.command))
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped());
        // SAFETY: the closure only calls signal(2), which is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                // Rust ignores SIGPIPE, and an ignored signal stays ignored across exec; ssh
                // gives the command the default disposition.
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                if let Ok(mut i) = self.info.lock() {
                    i.spawn_error = Some(e.to_string());
                }
                return Err(e);
            }
        };
        tracing::debug!("route: executing proxy command: exec {}", self.command);
        // Only this run's reports count: an earlier run may still be ending.
        let run = match self.info.lock() {
            Ok(mut i) => {
                i.runs += 1;
                i.status = None;
                i.passed_socket = false;
                i.stderr.clear();
                i.stderr_done = false;
                i.runs
            }
            Err(_) => 0,
        };
        let launched = Launched {
            child_stdin: child.stdin.take(),
            child_stdout: child.stdout.take(),
            pid: child.id(),
            exited: Arc::new(Mutex::new(false)),
        };
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(keep_stderr(stderr, self.info.clone(), run));
        }
        let info = self.info.clone();
        let reaped = launched.exited.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            // Set right after the child is reaped, so the stream's SIGHUP cannot go to a pid
            // the system has handed out again (that would take a fork in between).
            if let Ok(mut e) = reaped.lock() {
                *e = true;
            }
            let text = match status {
                Ok(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
                    (Some(c), _) => c.to_string(),
                    (None, Some(sig)) => format!("signal {sig}"),
                    _ => "unknown".to_string(),
                },
                Err(e) => format!("unknown ({e})"),
            };
            tracing::debug!("route: proxy command exited: {text}");
            if let Ok(mut i) = info.lock()
                && i.runs == run
            {
                i.status = Some(text);
            }
        });
        Ok(launched)
    }
}

/// A started command.
struct Launched {
    child_stdin: Option<ChildStdin>,
    child_stdout: Option<ChildStdout>,
    pid: Option<u32>,
    /// Set once it has exited and been reaped.
    exited: Arc<Mutex<bool>>,
}

/// Read the command's stderr into `info` (the end of it), for run number `run`.
async fn keep_stderr(
    mut stderr: tokio::process::ChildStderr,
    info: Arc<Mutex<RunInfo>>,
    run: usize,
) {
    let mut buf = [0u8; 1024];
    loop {
        match stderr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let text = String::from_utf8_lossy(&buf[..n]);
                tracing::debug!("route: proxy command stderr: {}", text.trim_end());
                if let Ok(mut i) = info.lock()
                    && i.runs == run
                {
                    i.stderr.push_str(&text);
                    if i.stderr.len() > STDERR_LIMIT {
                        let mut cut = i.stderr.len() - STDERR_LIMIT;
                        while !i.stderr.is_char_boundary(cut) {
                            cut += 1;
                        }
                        i.stderr.drain(..cut);
                    }
                }
            }
        }
    }
    if let Ok(mut i) = info.lock()
        && i.runs == run
    {
        i.stderr_done = true;
    }
}

/// ssh's `mm_receive_fd`: one byte with an `SCM_RIGHTS` message holding one descriptor
/// (blocking, bounded by the socket's read timeout).
fn receive_fd(sock: &std::os::unix::net::UnixStream) -> std::io::Result<OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // Room for one control message with one int, aligned for cmsghdr.
    let mut space = [0u64; 8];
    // SAFETY: msghdr is plain data; every pointer set below outlives the recvmsg call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = space.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    msg.msg_controllen =
        unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as _;
    let n = loop {
        // SAFETY: msg points to valid buffers of the sizes it states.
        let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, 0) };
        if n >= 0 {
            break n;
        }
        let e = std::io::Error::last_os_error();
        match e.kind() {
            std::io::ErrorKind::Interrupted => continue,
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the proxy dialer passed back no connection in time",
                ));
            }
            _ => return Err(e),
        }
    };
    let no_fd = || std::io::Error::other("proxy dialer did not pass back a connection");
    if n == 0 {
        return Err(no_fd());
    }
    // SAFETY: the kernel filled msg; CMSG_FIRSTHDR/CMSG_DATA walk within msg_control.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null()
            || (*cmsg).cmsg_level != libc::SOL_SOCKET
            || (*cmsg).cmsg_type != libc::SCM_RIGHTS
        {
            return Err(no_fd());
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
        if fd < 0 {
            return Err(no_fd());
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// The command's stdout (what the server says) and stdin (what we say), as one stream.
pub struct ProxyStream {
    stdin: ChildStdin,
    stdout: ChildStdout,
    pid: Option<u32>,
    exited: Arc<Mutex<bool>>,
}

impl Drop for ProxyStream {
    /// ssh's `ssh_kill_proxy_command`: SIGHUP, and no waiting for a command that may hang
    /// (the task started in [`ProxyCommand::spawn`] reaps it).
    fn drop(&mut self) {
        let Some(pid) = self.pid else { return };
        if let Ok(exited) = self.exited.lock()
            && !*exited
            && let Ok(pid) = libc::pid_t::try_from(pid)
        {
            // SAFETY: kill(2) has no memory-safety preconditions; the pid is our child's,
            // not yet reaped (checked under the lock the reaper sets).
            unsafe {
                libc::kill(pid, libc::SIGHUP);
            }
        }
    }
}

impl AsyncRead for ProxyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdout).poll_read(cx, buf)
    }
}

impl AsyncWrite for ProxyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stdin).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdin).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stdin).poll_shutdown(cx)
    }
}
