//! git's side of SSH: the remotes of a repository and how git turns each URL into an `ssh`
//! command line. Read through git itself where git has the answer (config, rewriting), and
//! with git's own parsing rules where it only has them in C (`url`).

pub mod remotes;
pub mod url;
