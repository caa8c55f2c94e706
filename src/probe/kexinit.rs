//! The server's side of the handshake, read from the bytes it sent: its identification line
//! and its SSH_MSG_KEXINIT (RFC 4253 §4.2, §7.1), which travels before any encryption. With
//! the server's full offer in hand, herossh decides negotiation the way the installed ssh
//! does ([`crate::openssh::negotiate`]) instead of the way russh happens to.

/// What the server offered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerOffer {
    /// `SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6` (without CR LF).
    pub ident: String,
    pub kex: Vec<String>,
    pub host_key: Vec<String>,
    pub cipher_ctos: Vec<String>,
    pub cipher_stoc: Vec<String>,
    pub mac_ctos: Vec<String>,
    pub mac_stoc: Vec<String>,
    pub comp_ctos: Vec<String>,
    pub comp_stoc: Vec<String>,
}

/// SSH_MSG_KEXINIT.
const MSG_KEXINIT: u8 = 20;

/// Parse what the server sent first: lines before the identification (allowed by RFC 4253),
/// the identification, then the first binary packet, which must be KEXINIT. None until all of
/// it has arrived (or when it is not SSH).
pub fn parse(bytes: &[u8]) -> Option<ServerOffer> {
    let mut pos = 0;
    let ident = loop {
        let end = bytes[pos..].iter().position(|b| *b == b'\n')? + pos;
        let line = &bytes[pos..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos = end + 1;
        if line.starts_with(b"SSH-") {
            break String::from_utf8_lossy(line).into_owned();
        }
        if pos > 16 * 1024 {
            return None;
        }
    };
    let packet = bytes.get(pos..)?;
    let len = u32::from_be_bytes(packet.get(..4)?.try_into().ok()?) as usize;
    let padding = *packet.get(4)? as usize;
    let body = packet.get(5..4 + len)?;
    let payload = body.get(..len.checked_sub(1 + padding)?)?;
    let (&kind, rest) = payload.split_first()?;
    if kind != MSG_KEXINIT {
        return None;
    }
    // 16 bytes of cookie, then ten name-lists.
    let mut r = rest.get(16..)?;
    let mut lists = Vec::with_capacity(10);
    for _ in 0..10 {
        let n = u32::from_be_bytes(r.get(..4)?.try_into().ok()?) as usize;
        let s = r.get(4..4 + n)?;
        lists.push(
            std::str::from_utf8(s)
                .ok()?
                .split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>(),
        );
        r = &r[4 + n..];
    }
    let mut it = lists.into_iter();
    let mut next = || it.next().unwrap_or_default();
    Some(ServerOffer {
        ident,
        kex: next(),
        host_key: next(),
        cipher_ctos: next(),
        cipher_stoc: next(),
        mac_ctos: next(),
        mac_stoc: next(),
        comp_ctos: next(),
        comp_stoc: next(),
    })
}

impl ServerOffer {
    /// The software after `SSH-2.0-` (e.g. `OpenSSH_7.4`).
    pub fn software(&self) -> &str {
        self.ident
            .splitn(3, '-')
            .nth(2)
            .map(|s| s.split(' ').next().unwrap_or(s))
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_list(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u32).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    fn packet(lists: &[&str]) -> Vec<u8> {
        let mut payload = vec![MSG_KEXINIT];
        payload.extend_from_slice(&[7u8; 16]);
        for l in lists {
            name_list(&mut payload, l);
        }
        payload.push(0);
        payload.extend_from_slice(&[0, 0, 0, 0]);
        let padding = 8 - (payload.len() + 5) % 8 + 4;
        let mut p = Vec::new();
        p.extend_from_slice(&((payload.len() + padding + 1) as u32).to_be_bytes());
        p.push(padding as u8);
        p.extend_from_slice(&payload);
        p.extend(std::iter::repeat_n(0u8, padding));
        p
    }

    #[test]
    fn reads_banner_and_kexinit() {
        let mut bytes = b"hello there\r\nSSH-2.0-OpenSSH_7.4 extra\r\n".to_vec();
        bytes.extend(packet(&[
            "diffie-hellman-group14-sha1,ext-info-s",
            "ssh-rsa",
            "aes128-ctr",
            "aes128-ctr",
            "hmac-sha1",
            "hmac-sha1",
            "none",
            "none",
            "",
            "",
        ]));
        let o = parse(&bytes).unwrap();
        assert_eq!(o.ident, "SSH-2.0-OpenSSH_7.4 extra");
        assert_eq!(o.software(), "OpenSSH_7.4");
        assert_eq!(o.kex, vec!["diffie-hellman-group14-sha1", "ext-info-s"]);
        assert_eq!(o.host_key, vec!["ssh-rsa"]);
        assert_eq!(o.mac_stoc, vec!["hmac-sha1"]);
        // Incomplete input: not yet.
        assert_eq!(parse(&bytes[..bytes.len() - 3]), None);
        assert_eq!(parse(b"SSH-2.0-x\r\n"), None);
    }
}
