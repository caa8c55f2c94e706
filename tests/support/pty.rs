//! A small pseudo-terminal driver for prompt tests: runs a command with a pty as its
//! controlling terminal (stdin, stdout and stderr), waits for expected text and types answers,
//! like `expect`. Built on `openpty` so no extra crate is needed.
//!
//! The timeout on `expect` only guards against a hung test (it fails loudly with everything
//! read so far); nothing here measures how fast the program answers.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long `expect` waits before declaring the program stuck.
const HANG_GUARD: Duration = Duration::from_secs(60);

pub struct Pty {
    child: Child,
    master: File,
    /// Everything the program wrote, `\r` removed (the pty turns `\n` into `\r\n`).
    output: String,
    /// How much of `output` earlier `expect` calls consumed.
    seen: usize,
}

impl Pty {
    /// Start `cmd` on a new 80x24 pty, in its own session with the pty as controlling terminal
    /// (so `/dev/tty`, which password prompts read, is the pty too).
    pub fn spawn(mut cmd: Command) -> Pty {
        let (master, slave) = open_pty();
        let stdio = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup pty slave"));
        cmd.stdin(stdio(&slave))
            .stdout(stdio(&slave))
            .stderr(stdio(&slave))
            .env("TERM", "xterm");
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn on pty");
        drop(slave);
        Pty {
            child,
            master: File::from(master),
            output: String::new(),
            seen: 0,
        }
    }

    /// Wait until `needle` appears after what earlier calls consumed; returns the text up to
    /// and including it. Panics with the whole transcript when the program ends or hangs first.
    pub fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            if let Some(i) = self.output[self.seen..].find(needle) {
                let end = self.seen + i + needle.len();
                let got = self.output[self.seen..end].to_string();
                self.seen = end;
                return got;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {needle:?}; transcript:\n{}",
                self.output
            );
            if !self.read_some(left) {
                panic!(
                    "program ended before printing {needle:?}; transcript:\n{}",
                    self.output
                );
            }
        }
    }

    /// Type a secret at a hidden prompt. A password reader turns echo off with `TCSAFLUSH`,
    /// which throws away anything typed earlier (as on a real terminal), so wait until the
    /// program has switched echo off before typing.
    pub fn send_hidden(&mut self, text: &str) {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            // SAFETY: a zeroed termios is a valid out-parameter; the master fd is open. On Linux
            // the master reports the terminal settings the program set on its side.
            let mut t: libc::termios = unsafe { std::mem::zeroed() };
            let rc = unsafe { libc::tcgetattr(self.master.as_raw_fd(), &mut t) };
            assert_eq!(rc, 0, "tcgetattr: {}", std::io::Error::last_os_error());
            if t.c_lflag & libc::ECHO == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "echo never turned off; transcript:\n{}",
                self.output
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        self.send(text);
    }

    /// Type `text` (use `\r` for Enter, as a terminal sends).
    pub fn send(&mut self, text: &str) {
        self.master
            .write_all(text.as_bytes())
            .and_then(|_| self.master.flush())
            .expect("write to pty");
    }

    /// Read until the program closes the terminal, then reap it. Returns the exit status, the
    /// output not yet consumed by `expect`, and the whole transcript.
    pub fn finish(mut self) -> (ExitStatus, String, String) {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "program did not exit; transcript:\n{}",
                self.output
            );
            if !self.read_some(left) {
                break;
            }
        }
        let status = self.child.wait().expect("wait for child");
        (
            status,
            self.output[self.seen..].to_string(),
            self.output.clone(),
        )
    }

    /// Read what is available within `timeout`; false at end of output (EIO once the last
    /// slave descriptor is closed).
    fn read_some(&mut self, timeout: Duration) -> bool {
        let mut pfd = libc::pollfd {
            fd: self.master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n <= 0 {
            return true; // timeout or EINTR: the caller checks its deadline
        }
        let mut buf = [0u8; 4096];
        match self.master.read(&mut buf) {
            Ok(0) | Err(_) => false,
            Ok(k) => {
                self.output
                    .push_str(&String::from_utf8_lossy(&buf[..k]).replace('\r', ""));
                true
            }
        }
    }
}

/// A new 80x24 pty pair. Both ends are close-on-exec from the start (`posix_openpt` and
/// `open` with `O_CLOEXEC`): tests run in parallel threads, and a child spawned by another test
/// must not inherit this pty, or the end-of-output signal (EIO) would never come.
fn open_pty() -> (OwnedFd, OwnedFd) {
    let last = std::io::Error::last_os_error;
    // SAFETY: plain libc calls on descriptors owned here; ptsname_r writes into `name`.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(m >= 0, "posix_openpt: {}", last());
        let master = OwnedFd::from_raw_fd(m);
        assert_eq!(libc::grantpt(m), 0, "grantpt: {}", last());
        assert_eq!(libc::unlockpt(m), 0, "unlockpt: {}", last());
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(
            libc::ptsname_r(m, name.as_mut_ptr(), name.len()),
            0,
            "ptsname_r"
        );
        let s = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        assert!(s >= 0, "open pty slave: {}", last());
        let slave = OwnedFd::from_raw_fd(s);
        let size = libc::winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        assert_eq!(
            libc::ioctl(s, libc::TIOCSWINSZ, &size),
            0,
            "TIOCSWINSZ: {}",
            last()
        );
        (master, slave)
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
