//! The `ssh -G` evaluator on arbitrary config bytes: an answer or a clear error, never a panic
//! or a hang (Include loops included). The input is `~/.ssh/config` of a scratch HOME, given
//! to the evaluator in memory; relative `Include`s name files in that `.ssh` directory (the
//! config itself among them), so include recursion is exercised without reading the real disk.
#![no_main]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use herossh::sshconfig::{eval, syntax};
use libfuzzer_sys::fuzz_target;

/// A scratch HOME with an (empty on disk) `.ssh/config`, so include globs find it.
fn home() -> &'static PathBuf {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("herossh-fuzz-home-{}", std::process::id()));
        std::fs::create_dir_all(dir.join(".ssh")).expect("scratch HOME");
        std::fs::write(dir.join(".ssh/config"), b"").expect("scratch config");
        // SAFETY: set once, before any evaluation reads it, on libFuzzer's single thread.
        unsafe { std::env::set_var("HOME", &dir) };
        dir
    })
}

/// Includes that could reach outside the scratch `.ssh` directory (absolute, `~`, `..`,
/// tokens or environment variables) would read arbitrary real files: not what is fuzzed here.
fn escapes(config: &syntax::Config) -> bool {
    config.lines.iter().filter_map(|l| l.directive()).any(|d| {
        d.keyword.eq_ignore_ascii_case("include")
            && (d.rest.contains(['/', '~', '%', '$']) || d.rest.contains(".."))
    })
}

fuzz_target!(|data: &[u8]| {
    let home = home();
    let config = syntax::parse(data);
    if escapes(&config) {
        return;
    }
    let path = home.join(".ssh/config");
    let prepared = eval::prepare(&path, config);
    for host in ["example.com", "git.heroku.com"] {
        let req = eval::Request {
            host: host.to_string(),
            config: Some(path.clone()),
            user: None,
            port: None,
            allow_exec: false,
            overrides: vec![(path.clone(), Arc::clone(&prepared))],
            cache: None,
            lenient: false,
        };
        let _ = eval::evaluate(&req);
    }
});
