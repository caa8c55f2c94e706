//! What is wrong with a key file ssh refuses as "invalid format" / "error in libcrypto", in
//! the user's terms (CRLF, a BOM, a lost final newline, newlines collapsed into spaces, a cut
//! file...), and the repair: the same edits applied in memory and checked with the loader
//! model before a command is printed, so a repair is offered only when it makes ssh load the
//! key. The command is one `perl -0777 -pi -e` (present on Linux and macOS, edits in place and
//! keeps the file's mode and owner), never a `sed -i` whose syntax differs between the two.

use serde::Serialize;

/// One thing wrong with a key file's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Damage {
    /// Saved as UTF-16 (Windows PowerShell `>` / `Out-File`).
    Utf16,
    /// A UTF-8 byte order mark before the first line.
    Bom,
    /// Windows line endings.
    Crlf,
    /// Something before the BEGIN line (blank lines, spaces, other text).
    LeadingText,
    /// Blanks after the BEGIN or END marker on its line.
    MarkerTrailingBlanks,
    /// The newlines were collapsed into spaces (a key pasted into a one-line variable).
    OneLine,
    /// The END line names another format than the BEGIN line.
    FooterMismatch,
    /// The last line has no newline.
    NoFinalNewline,
    /// No END line: the file was cut short.
    Truncated,
    /// Characters that are not base64 in the body.
    Base64,
    /// The text is intact but the key inside is damaged (lines lost or altered).
    Corrupt,
    /// A well-formed PEM block that holds no private key (a public key, a certificate).
    NotAPrivateKey,
    /// Nothing in the file.
    Empty,
    /// Not text.
    Binary,
}

impl Damage {
    /// How to say it.
    pub fn describe(self) -> &'static str {
        match self {
            Damage::Utf16 => "it is saved as UTF-16 (PowerShell's `>` does that), not ASCII",
            Damage::Bom => "it starts with a UTF-8 byte order mark",
            Damage::Crlf => "it has Windows (CRLF) line endings",
            Damage::LeadingText => "something precedes the -----BEGIN line",
            Damage::MarkerTrailingBlanks => "a -----BEGIN/-----END line has trailing blanks",
            Damage::OneLine => "its newlines were replaced by spaces (all on one line)",
            Damage::FooterMismatch => "its -----END line does not match the -----BEGIN line",
            Damage::NoFinalNewline => "its last line has no newline",
            Damage::Truncated => "it is cut short (no -----END line)",
            Damage::Base64 => "its body has characters that are not base64",
            Damage::Corrupt => "the key data inside is damaged (lines lost or altered)",
            Damage::NotAPrivateKey => "it holds no private key (a public key or certificate?)",
            Damage::Empty => "it is empty",
            Damage::Binary => "it is not a text file",
        }
    }

    /// The perl substitution that undoes it (None: not repairable by an edit).
    fn perl(self, label: &str) -> Option<String> {
        Some(match self {
            Damage::Utf16 => r"s/\A(?:\xFF\xFE|\xFE\xFF)//; s/\x00//g".into(),
            Damage::Bom => r"s/\A\xEF\xBB\xBF//".into(),
            Damage::Crlf => r"s/\r\n/\n/g".into(),
            Damage::LeadingText => r"s/\A.*?(?=-----BEGIN )//s".into(),
            Damage::MarkerTrailingBlanks => {
                r"s/^(-----(?:BEGIN|END) [A-Z0-9 ]+-----)[ \t]+$/$1/mg".into()
            }
            Damage::OneLine => {
                r"s/(-----BEGIN [A-Z0-9 ]+-----)[ \t]+/$1\n/; s/[ \t]+(-----END [A-Z0-9 ]+-----)/\n$1/"
                    .into()
            }
            Damage::FooterMismatch => format!("s/-----END [A-Z0-9 ]+-----/-----END {label}-----/"),
            Damage::NoFinalNewline => r#"$_ .= "\n" unless /\n\z/"#.into(),
            _ => return None,
        })
    }

    /// The same edit in memory.
    fn apply(self, b: &[u8], label: &str) -> Vec<u8> {
        match self {
            Damage::Utf16 => {
                let b = b
                    .strip_prefix(b"\xFF\xFE")
                    .or_else(|| b.strip_prefix(b"\xFE\xFF"))
                    .unwrap_or(b);
                b.iter().copied().filter(|&c| c != 0).collect()
            }
            Damage::Bom => b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b).to_vec(),
            Damage::Crlf => replace(b, b"\r\n", b"\n"),
            Damage::LeadingText => match find(b, b"-----BEGIN ") {
                Some(i) => b[i..].to_vec(),
                None => b.to_vec(),
            },
            Damage::MarkerTrailingBlanks => {
                let mut out = Vec::with_capacity(b.len());
                for (i, line) in b.split(|&c| c == b'\n').enumerate() {
                    if i > 0 {
                        out.push(b'\n');
                    }
                    let trimmed = trim_blanks_end(line);
                    if marker_label(trimmed).is_some() {
                        out.extend_from_slice(trimmed);
                    } else {
                        out.extend_from_slice(line);
                    }
                }
                out
            }
            Damage::OneLine => {
                let mut out = b.to_vec();
                if let Some((_, end)) = first_marker(&out, b"-----BEGIN ") {
                    let blanks = count_blanks(&out[end..]);
                    if blanks > 0 {
                        out.splice(end..end + blanks, [b'\n']);
                    }
                }
                if let Some(i) = find(&out, b"-----END ") {
                    let start = out[..i]
                        .iter()
                        .rposition(|&c| c != b' ' && c != b'\t')
                        .map_or(0, |p| p + 1);
                    if start < i {
                        out.splice(start..i, [b'\n']);
                    }
                }
                out
            }
            Damage::FooterMismatch => match first_marker(b, b"-----END ") {
                Some((start, end)) => {
                    let mut out = b[..start].to_vec();
                    out.extend_from_slice(format!("-----END {label}-----").as_bytes());
                    out.extend_from_slice(&b[end..]);
                    out
                }
                None => b.to_vec(),
            },
            Damage::NoFinalNewline => {
                let mut out = b.to_vec();
                if !out.ends_with(b"\n") {
                    out.push(b'\n');
                }
                out
            }
            _ => b.to_vec(),
        }
    }
}

/// What to tell the user about a refused file, and how to repair it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub damage: Vec<Damage>,
    /// The perl program that repairs the file (to run as `perl -0777 -pi -e 'PROGRAM' FILE`),
    /// present only when the repaired bytes load in the model.
    pub repair: Option<String>,
}

/// Name the damage in `bytes`; `loads` is the loader model, used to confirm a repair.
pub fn diagnose(bytes: &[u8], loads: impl Fn(&[u8]) -> bool) -> Diagnosis {
    let mut damage = detect(bytes);
    if damage.is_empty() {
        // The text looks like a key; what is inside is not.
        damage.push(Damage::Corrupt);
    }
    let label = begin_label(bytes).unwrap_or_else(|| "OPENSSH PRIVATE KEY".into());
    let fixable: Vec<Damage> = damage
        .iter()
        .copied()
        .filter(|d| d.perl(&label).is_some())
        .collect();
    let repair = if fixable.is_empty() {
        None
    } else {
        let repaired = fixable
            .iter()
            .fold(bytes.to_vec(), |b, d| d.apply(&b, &label));
        loads(&repaired).then(|| {
            fixable
                .iter()
                .filter_map(|d| d.perl(&label))
                .collect::<Vec<_>>()
                .join("; ")
        })
    };
    Diagnosis { damage, repair }
}

/// Every kind of damage visible in the text, in repair order.
pub fn detect(bytes: &[u8]) -> Vec<Damage> {
    let mut out = Vec::new();
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return vec![Damage::Empty];
    }
    let mut b: Vec<u8> = bytes.to_vec();
    if b.starts_with(b"\xFF\xFE") || b.starts_with(b"\xFE\xFF") || b.contains(&0) {
        if b.iter().filter(|&&c| c == 0).count() * 3 >= b.len() {
            out.push(Damage::Utf16);
            b = Damage::Utf16.apply(&b, "");
        } else {
            return vec![Damage::Binary];
        }
    }
    if std::str::from_utf8(&b).is_err() && !b.starts_with(b"\xEF\xBB\xBF") {
        return vec![Damage::Binary];
    }
    if b.starts_with(b"\xEF\xBB\xBF") {
        out.push(Damage::Bom);
        b = b[3..].to_vec();
    }
    if find(&b, b"\r\n").is_some() {
        out.push(Damage::Crlf);
        b = Damage::Crlf.apply(&b, "");
    }
    if find(&b, b"---- BEGIN SSH2 PUBLIC KEY ----").is_some() {
        out.push(Damage::NotAPrivateKey);
        return out;
    }
    let Some(begin) = find(&b, b"-----BEGIN ") else {
        if out.is_empty() {
            out.push(Damage::NotAPrivateKey);
        }
        return out;
    };
    if begin > 0 {
        out.push(Damage::LeadingText);
    }
    let b = &b[begin..];
    let first_line = b.split(|&c| c == b'\n').next().unwrap_or_default();
    let marker_end = first_marker(b, b"-----BEGIN ").map(|(_, e)| e);
    let lines: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
    let trailing = lines.iter().any(|l| {
        let t = trim_blanks_end(l);
        t.len() != l.len() && marker_label(t).is_some()
    });
    if trailing {
        out.push(Damage::MarkerTrailingBlanks);
    }
    if let Some(e) = marker_end
        && e <= first_line.len()
    {
        let after = &first_line[e..];
        let n = count_blanks(after);
        if n > 0 && n < after.len() {
            out.push(Damage::OneLine);
        }
    }
    let end = first_marker(b, b"-----END ");
    match end {
        None => out.push(Damage::Truncated),
        Some((s, e)) => {
            let begin_l = begin_label(b);
            let end_l = std::str::from_utf8(&b[s + 9..e - 5])
                .ok()
                .map(str::to_string);
            if begin_l != end_l {
                out.push(Damage::FooterMismatch);
            }
            let body = &b[marker_end.unwrap_or(0)..s];
            let bad = body.iter().any(|&c| {
                !(c.is_ascii_alphanumeric() || b"+/=".contains(&c) || c.is_ascii_whitespace())
            });
            // Legacy PEM headers ("Proc-Type: 4,ENCRYPTED") are not base64 and not damage.
            let headers = find(body, b"Proc-Type:").is_some();
            if bad && !headers {
                out.push(Damage::Base64);
            }
        }
    }
    if !bytes.ends_with(b"\n") && !out.contains(&Damage::Utf16) {
        out.push(Damage::NoFinalNewline);
    }
    out
}

/// The label of the first BEGIN marker.
fn begin_label(b: &[u8]) -> Option<String> {
    let (s, e) = first_marker(b, b"-----BEGIN ")?;
    std::str::from_utf8(&b[s + 11..e - 5])
        .ok()
        .map(str::to_string)
}

/// The first `PREFIX LABEL-----` marker (label: capitals, digits, spaces): (start, end).
fn first_marker(b: &[u8], prefix: &[u8]) -> Option<(usize, usize)> {
    let start = find(b, prefix)?;
    let rest = &b[start + prefix.len()..];
    let n = rest
        .iter()
        .position(|&c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == b' '))?;
    rest[n..]
        .starts_with(b"-----")
        .then_some((start, start + prefix.len() + n + 5))
}

fn marker_label(line: &[u8]) -> Option<&[u8]> {
    let inner = line
        .strip_prefix(b"-----BEGIN ")
        .or_else(|| line.strip_prefix(b"-----END "))?;
    inner.strip_suffix(b"-----")
}

fn count_blanks(b: &[u8]) -> usize {
    b.iter().take_while(|&&c| c == b' ' || c == b'\t').count()
}

fn trim_blanks_end(line: &[u8]) -> &[u8] {
    let n = line
        .iter()
        .rposition(|&c| c != b' ' && c != b'\t')
        .map_or(0, |i| i + 1);
    &line[..n]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn replace(b: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\nBBBB\n-----END OPENSSH PRIVATE KEY-----\n";

    fn ok(b: &[u8]) -> bool {
        b == KEY.as_bytes()
    }

    #[test]
    fn each_repair_restores_the_exact_bytes() {
        let cases: Vec<(Vec<u8>, Vec<Damage>)> = vec![
            (KEY.replace('\n', "\r\n").into_bytes(), vec![Damage::Crlf]),
            (
                KEY.trim_end().as_bytes().to_vec(),
                vec![Damage::NoFinalNewline],
            ),
            (format!("\u{feff}{KEY}").into_bytes(), vec![Damage::Bom]),
            (format!("\n  {KEY}").into_bytes(), vec![Damage::LeadingText]),
            (
                KEY.replace("KEY-----\nAAAA", "KEY----- \nAAAA")
                    .into_bytes(),
                vec![Damage::MarkerTrailingBlanks],
            ),
            (
                KEY.trim_end().replace('\n', " ").into_bytes(),
                vec![Damage::OneLine, Damage::NoFinalNewline],
            ),
            (
                KEY.replace("END OPENSSH", "END RSA").into_bytes(),
                vec![Damage::FooterMismatch],
            ),
            (
                {
                    let mut v = vec![0xFF, 0xFE];
                    for c in KEY.bytes() {
                        v.extend([c, 0]);
                    }
                    v
                },
                vec![Damage::Utf16],
            ),
        ];
        for (bytes, expect) in cases {
            let d = diagnose(&bytes, |b| b != bytes.as_slice());
            assert_eq!(d.damage, expect, "{:?}", String::from_utf8_lossy(&bytes));
            let label = "OPENSSH PRIVATE KEY";
            let fixed = d
                .damage
                .iter()
                .fold(bytes.clone(), |b, x| x.apply(&b, label));
            let oneline_spaces = expect.contains(&Damage::OneLine);
            if oneline_spaces {
                // The body keeps its inner spaces, which both readers skip.
                assert_eq!(fixed, KEY.replace("AAAA\nBBBB", "AAAA BBBB").into_bytes());
            } else {
                assert!(ok(&fixed), "{:?}", String::from_utf8_lossy(&fixed));
            }
            assert!(d.repair.is_some());
        }
    }

    #[test]
    fn unrepairable_damage_gets_no_repair() {
        let cut = &KEY.as_bytes()[..40];
        let d = diagnose(cut, |_| false);
        assert!(d.damage.contains(&Damage::Truncated));
        assert_eq!(d.repair, None);
        assert_eq!(detect(b""), vec![Damage::Empty]);
        let bad = KEY.replace("AAAA", "AA*A");
        assert_eq!(detect(bad.as_bytes()), vec![Damage::Base64]);
    }
}
