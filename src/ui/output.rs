//! The only code that writes to stdout and stderr.
//!
//! `println!`/`eprintln!` panic when the stream cannot be written (`herossh completions bash >
//! /dev/full`, `2>/dev/full`), and `let _ = writeln!` hides the failure (`auth token >
//! /dev/full` would exit 0 with the token never written). Here every write is flushed and its
//! failure recorded, never panicking; [`crate::main_entry`] turns the record into the outcome:
//! a closed pipe (EPIPE: `herossh keys | head -1`) ends the program quietly, like any Unix
//! filter whose reader has had enough, and any other failure is an error with a message
//! (exit 1, code `output_error`). After a failure the stream is not written again.
//!
//! It also remembers whether the `--json` document went out, so a failed command is followed
//! by an `{"error": ...}` object only when it has not printed its own report.

use std::io::{ErrorKind, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Which standard stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "standard output",
            Stream::Stderr => "standard error",
        }
    }
}

/// The first write failure of a stream.
#[derive(Debug)]
pub struct Failure {
    pub stream: Stream,
    pub error: std::io::Error,
}

impl Failure {
    /// The reader went away: not worth a word.
    pub fn is_closed_pipe(&self) -> bool {
        self.error.kind() == ErrorKind::BrokenPipe
    }
}

static STDOUT_FAILED: Mutex<Option<std::io::Error>> = Mutex::new(None);
static STDERR_FAILED: Mutex<Option<std::io::Error>> = Mutex::new(None);
static JSON_EMITTED: AtomicBool = AtomicBool::new(false);

fn slot(stream: Stream) -> &'static Mutex<Option<std::io::Error>> {
    match stream {
        Stream::Stdout => &STDOUT_FAILED,
        Stream::Stderr => &STDERR_FAILED,
    }
}

/// Write `bytes` to `stream` and flush; a failure is recorded (the first one wins) and later
/// writes to that stream are skipped. Returns whether the bytes went out.
pub fn write(stream: Stream, bytes: &[u8]) -> bool {
    let mut failed = slot(stream).lock().unwrap_or_else(|e| e.into_inner());
    if failed.is_some() {
        return false;
    }
    let result = match stream {
        Stream::Stdout => {
            let mut o = std::io::stdout().lock();
            o.write_all(bytes).and_then(|_| o.flush())
        }
        Stream::Stderr => {
            let mut e = std::io::stderr().lock();
            e.write_all(bytes).and_then(|_| e.flush())
        }
    };
    match result {
        Ok(()) => true,
        Err(e) => {
            *failed = Some(e);
            false
        }
    }
}

/// `text` and a newline on stdout.
pub fn stdout_line(text: &str) -> bool {
    write(Stream::Stdout, format!("{text}\n").as_bytes())
}

/// `text` and a newline on stderr.
pub fn stderr_line(text: &str) {
    write(Stream::Stderr, format!("{text}\n").as_bytes());
}

/// Record that the command's `--json` document was written.
pub fn mark_json_emitted() {
    JSON_EMITTED.store(true, Ordering::SeqCst);
}

/// Whether a `--json` document is already on stdout.
pub fn json_emitted() -> bool {
    JSON_EMITTED.load(Ordering::SeqCst)
}

/// The first failure of each stream so far, stdout's first.
pub fn failures() -> Vec<Failure> {
    [Stream::Stdout, Stream::Stderr]
        .into_iter()
        .filter_map(|stream| {
            let failed = slot(stream).lock().unwrap_or_else(|e| e.into_inner());
            failed.as_ref().map(|e| Failure {
                stream,
                error: std::io::Error::new(e.kind(), e.to_string()),
            })
        })
        .collect()
}
