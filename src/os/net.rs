//! The machine's own network addresses (for `Match localnetwork`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Every IPv4 and IPv6 address of every interface (getifaddrs(3)).
pub fn interface_addresses() -> Vec<IpAddr> {
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates a list freed with freeifaddrs below; each entry's address
    // pointer is checked for NULL and read according to its family.
    if unsafe { libc::getifaddrs(&mut ifap) } != 0 {
        return Vec::new();
    }
    let mut addrs = Vec::new();
    let mut cur = ifap;
    while !cur.is_null() {
        unsafe {
            let sa = (*cur).ifa_addr;
            if !sa.is_null() {
                match i32::from((*sa).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(sa as *const libc::sockaddr_in);
                        addrs.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                            sin.sin_addr.s_addr,
                        ))));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(sa as *const libc::sockaddr_in6);
                        addrs.push(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
                    }
                    _ => {}
                }
            }
            cur = (*cur).ifa_next;
        }
    }
    unsafe { libc::freeifaddrs(ifap) };
    addrs
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_is_there() {
        let a = super::interface_addresses();
        assert!(a.iter().any(|a| a.is_loopback()), "{a:?}");
    }
}
