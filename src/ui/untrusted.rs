//! Text that came from outside herossh, made safe to print on a terminal.
//!
//! A key comment (from a `.pub` file, an agent — forwarded ones included — or the Platform
//! API's `comment`/`public_key` fields), a server's version string or a file name can hold
//! control characters: ESC sequences that retitle the window, recolour or erase the output,
//! or a carriage return that overwrites what was printed. OpenSSH prints such text through
//! `mprintf` (utf8.c): printable characters stay, and every byte of a character that is not
//! printable becomes a `\ooo` octal escape (`vis(3)` with `VIS_OCTAL`). This does the same
//! for control characters (C0, DEL, and C1, which a UTF-8 terminal also obeys), and, going a
//! little further than ssh, for the Unicode bidirectional controls that can make a line read
//! in a different order than it is written. Line breaks and tabs are escaped too: one field
//! must not be able to start a line that looks like herossh's own output.
//!
//! JSON output needs none of this (serde_json escapes control characters itself).

use std::borrow::Cow;
use std::path::Path;

/// Whether `c` is printed as an escape.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every control character replaced by the `\ooo` octal escapes of its UTF-8 bytes
/// (ESC → `\033`); borrowed unchanged when there is none.
pub fn untrusted(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// Like [`untrusted`], but line breaks and tabs stay (as in ssh's `mprintf`): for whole
/// messages that are several lines on purpose and may quote untrusted text (an API error
/// message). `ui::Ui`'s stderr messages and the final error line go through it.
pub fn untrusted_lines(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

fn escape(s: &str, keep_lines: bool) -> Cow<'_, str> {
    let escaped = |c: char| needs_escape(c) && !(keep_lines && matches!(c, '\n' | '\t'));
    if !s.chars().any(escaped) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if escaped(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\{b:03o}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A path for a terminal: as [`untrusted`], and bytes that are not UTF-8 become `\ooo` too
/// (where `Path::display` would print U+FFFD and hide what the name really is).
pub fn untrusted_path(p: &Path) -> String {
    let bytes = p.as_os_str().as_encoded_bytes();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(&untrusted(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!("\\{b:03o}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_octal_like_ssh() {
        assert!(matches!(untrusted("me@host é ✓"), Cow::Borrowed(_)));
        assert_eq!(untrusted("a\x1b]0;pwned\x07b"), "a\\033]0;pwned\\007b");
        assert_eq!(untrusted("x\ny\tz\r"), "x\\012y\\011z\\015");
        assert_eq!(untrusted("\x7f"), "\\177");
        // C1 CSI (U+009B) is two UTF-8 bytes.
        assert_eq!(untrusted("\u{9b}31m"), "\\302\\23331m");
        assert_eq!(untrusted("abc\u{202e}def"), "abc\\342\\200\\256def");
    }

    #[test]
    fn messages_keep_their_lines() {
        assert_eq!(untrusted_lines("a\n\tb\x1b[31m\r"), "a\n\tb\\033[31m\\015");
        // Escaping twice changes nothing: escapes hold no control characters.
        let once = untrusted("\x1b]0;x\x07").into_owned();
        assert_eq!(untrusted(&once), once);
    }

    #[test]
    fn paths_keep_their_invalid_bytes_visible() {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/k\xff\x1b[2J.pub"));
        assert_eq!(untrusted_path(p), "/tmp/k\\377\\033[2J.pub");
    }
}
