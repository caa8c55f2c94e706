//! What kind of file a path is, and reading one without ever blocking: ssh opens an identity
//! file with a plain `open(O_RDONLY)`, which waits forever on a FIFO with no writer; herossh
//! has to say so instead of waiting with it.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The file types ssh's loader treats differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// A named pipe: `open(O_RDONLY)` blocks until a writer appears.
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Other,
}

/// The kind of `md` (from `stat`, so symlinks are already followed).
pub fn kind(md: &Metadata) -> Kind {
    let t = md.file_type();
    if t.is_file() {
        Kind::File
    } else if t.is_dir() {
        Kind::Dir
    } else if t.is_fifo() {
        Kind::Fifo
    } else if t.is_socket() {
        Kind::Socket
    } else if t.is_char_device() {
        Kind::CharDevice
    } else if t.is_block_device() {
        Kind::BlockDevice
    } else {
        Kind::Other
    }
}

/// Open for reading with `O_NONBLOCK`, so a file swapped for a FIFO after the `stat` cannot
/// hang the caller (reads from a regular file ignore the flag).
pub fn open_nonblocking(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Read at most `limit` bytes of a regular file without blocking; `Ok(None)` when it is longer
/// (no key file is that large).
pub fn read_capped(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let f = open_nonblocking(path)?;
    let md = f.metadata()?;
    if kind(&md) != Kind::File {
        return Err(io::Error::other("not a regular file"));
    }
    let mut buf = Vec::new();
    f.take(limit + 1).read_to_end(&mut buf)?;
    Ok((buf.len() as u64 <= limit).then_some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_a_fifo_that_is_never_opened_for_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"abc").unwrap();
        assert_eq!(kind(&std::fs::metadata(&f).unwrap()), Kind::File);
        assert_eq!(kind(&std::fs::metadata(dir.path()).unwrap()), Kind::Dir);
        assert_eq!(read_capped(&f, 3).unwrap().unwrap(), b"abc");
        assert_eq!(read_capped(&f, 2).unwrap(), None);
        let fifo = dir.path().join("p");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(kind(&std::fs::metadata(&fifo).unwrap()), Kind::Fifo);
        // Returns at once (no writer, O_NONBLOCK) with an error instead of hanging.
        assert!(read_capped(&fifo, 10).is_err());
    }
}
