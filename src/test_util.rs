//! Helpers shared by the unit tests that drive the real OpenSSH tools.

use std::path::Path;
use std::process::Command;

/// Run `cmd` with `sh -c` in `dir`; the test fails with its stderr when it does.
pub fn sh(cmd: &str, dir: &Path) {
    let o = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}
