//! What kind of file a path is: ssh's key loader treats a FIFO (it blocks opening it), a
//! directory and other special files each its own way, so the key model needs the kind as a
//! value. (Reading files safely is `fsutil::read_limited`'s job.)

use std::fs::Metadata;
use std::os::unix::fs::FileTypeExt;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"abc").unwrap();
        assert_eq!(kind(&std::fs::metadata(&f).unwrap()), Kind::File);
        assert_eq!(kind(&std::fs::metadata(dir.path()).unwrap()), Kind::Dir);
        let fifo = dir.path().join("p");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(kind(&std::fs::metadata(&fifo).unwrap()), Kind::Fifo);
    }
}
