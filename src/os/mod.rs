//! Everything that differs between operating systems, one small module per concern, so the
//! rest of herossh is portable Rust and a port touches only these files:
//!
//! - [`user`]: who runs herossh (uid, the passwd entry, the host name);
//! - [`perms`]: Unix permission bits and file owners;
//! - [`files`]: file types (a FIFO, a directory...) as a value;
//! - [`agent`]: reaching an ssh-agent;
//! - [`glob`]: file name patterns as ssh's `Include` expands them;
//! - [`net`]: the machine's own addresses (`Match localnetwork`).
//!
//! The keychain backends, the other OS-specific concern, live with the credential code
//! (`credentials::keychain`, one module per backend) because they implement its trait.
//!
//! Linux and macOS share the `cfg(unix)` code below: every call in it is POSIX (`getuid`,
//! `geteuid`, `getpwuid_r`, `gethostname`, `fchown`) or `std::os::unix`, and nothing is
//! Linux-only (no `/proc`, no Linux-only libc items). Windows is not supported yet; these
//! modules are where a port starts (PLATFORMS.md §3 has the facts it needs).

pub mod agent;
pub mod files;
pub mod glob;
pub mod net;
pub mod perms;
pub mod user;
