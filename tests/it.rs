//! The integration suite: drives the built `herossh` binary in a temporary home against real
//! components (sshd, ssh-keygen, ssh -G, gnome-keyring) and the in-process Platform API.
//! One binary with one module per area; shared harness in `support`.

mod support;

mod auth;
mod cli_surface;
mod credentials;
mod differential;
mod doctor;
mod doctor_hosts;
mod fake_api;
mod fault_matrix;
mod file_safety;
mod fix_config;
mod git_credential;
mod keygen;
mod keyload;
mod keys;
mod macos_keychain;
mod route;
mod secrets_audit;
mod sshconfig;
mod untrusted_text;
mod validate;
