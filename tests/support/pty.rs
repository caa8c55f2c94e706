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
        let mut master: libc::c_int = -1;
        let mut slave: libc::c_int = -1;
        let size = libc::winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: valid out-pointers; a null name and termios are allowed.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty returned two fresh descriptors that we now own.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
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

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
