//! OpenSSH's "drunken bishop" randomart (sshkey.c `fingerprint_randomart`), reproduced bit for
//! bit so the picture herossh prints is the one `ssh-keygen -lv` draws for the same key.

use russh::keys::ssh_key;

use super::{fingerprint::digest, key_bits, key_short_name};
use crate::cli::FingerprintHash;

const FLDSIZE_X: usize = 17;
const FLDSIZE_Y: usize = 9;
/// Symbols by visit count; the last two mark the start (`S`) and end (`E`) squares.
const AUGMENTATION: &[u8] = b" .o+=*BOX@%&#/^SE";

/// The 11-line box, lines joined by `\n`, no trailing newline (as ssh-keygen's string).
pub fn randomart(key: &ssh_key::PublicKey, hash: FingerprintHash) -> String {
    let title = format!("[{} {}]", key_short_name(key), key_bits(key));
    let title = if title.len() > FLDSIZE_X + 1 {
        format!("[{}]", key_short_name(key))
    } else {
        title
    };
    let hash_name = match hash {
        FingerprintHash::Sha256 => "[SHA256]",
        FingerprintHash::Md5 => "[MD5]",
    };
    draw(&digest(key, hash), &title, hash_name)
}

fn draw(dgst: &[u8], title: &str, hash_name: &str) -> String {
    let len = AUGMENTATION.len() - 1;
    let mut field = [[0usize; FLDSIZE_Y]; FLDSIZE_X];
    let (mut x, mut y) = (FLDSIZE_X / 2, FLDSIZE_Y / 2);
    for &byte in dgst {
        let mut input = byte;
        for _ in 0..4 {
            x = if input & 0x1 != 0 {
                (x + 1).min(FLDSIZE_X - 1)
            } else {
                x.saturating_sub(1)
            };
            y = if input & 0x2 != 0 {
                (y + 1).min(FLDSIZE_Y - 1)
            } else {
                y.saturating_sub(1)
            };
            if field[x][y] < len - 2 {
                field[x][y] += 1;
            }
            input >>= 2;
        }
    }
    field[FLDSIZE_X / 2][FLDSIZE_Y / 2] = len - 1;
    field[x][y] = len;

    let mut out = border(title);
    for row in 0..FLDSIZE_Y {
        out.push_str("\n|");
        for col in field.iter() {
            out.push(AUGMENTATION[col[row].min(len)] as char);
        }
        out.push('|');
    }
    out.push('\n');
    out.push_str(&border(hash_name));
    out
}

/// `+---[label]----+`: the label centred with the extra dash on the right, as OpenSSH does.
fn border(label: &str) -> String {
    let label = if label.len() > FLDSIZE_X { "" } else { label };
    let left = (FLDSIZE_X - label.len()) / 2;
    let right = FLDSIZE_X - label.len() - left;
    format!("+{}{}{}+", "-".repeat(left), label, "-".repeat(right))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borders_centre_like_openssh() {
        assert_eq!(border("[RSA 3072]"), "+---[RSA 3072]----+");
        assert_eq!(border("[SHA256]"), "+----[SHA256]-----+");
        assert_eq!(border("[MD5]"), "+------[MD5]------+");
        assert_eq!(border("[ED25519 256]"), "+--[ED25519 256]--+");
    }

    #[test]
    fn all_zero_digest_walks_to_the_top_left() {
        // Every step goes up-left: the bishop reaches the corner and stays there.
        let art = draw(&[0u8; 4], "[X]", "[Y]");
        let lines: Vec<&str> = art.lines().collect();
        assert_eq!(lines.len(), FLDSIZE_Y + 2);
        assert_eq!(lines[1], format!("|E....{}|", " ".repeat(12)));
        assert_eq!(lines[2], format!("|     .{}|", " ".repeat(11)));
        assert_eq!(lines[3], format!("|      .{}|", " ".repeat(10)));
        assert_eq!(lines[4], format!("|       .{}|", " ".repeat(9)));
        assert_eq!(lines[5], "|        S        |");
        assert_eq!(lines[9], format!("|{}|", " ".repeat(17)));
    }
}
