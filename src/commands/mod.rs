//! One module per command; each orchestrates the library modules and renders through `ui`.
//! Nothing here holds knowledge another command might need: that belongs in `credentials`,
//! `platform`, `sshkeys`, `sshconfig`, `probe` or `diagnose`.

mod auth;
mod completions;
mod config;
mod doctor;
mod fix_config;
mod git_credential;
mod keygen;
mod keys;
mod man;
mod validate;

use crate::cli::{AuthAction, AuthArgs, Cli, Command, KeysAction, KeysListArgs};
use crate::error::Result;
use crate::ui::Ui;

/// What every command gets: how to present output and how loud to be.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub ui: Ui,
    pub verbose: u8,
}

impl Ctx {
    pub fn new(cli: &Cli) -> Self {
        Ctx {
            ui: Ui::new(cli.json, cli.no_color),
            verbose: cli.verbose,
        }
    }
}

pub fn run(ctx: &Ctx, command: &Command) -> Result<()> {
    match command {
        Command::Keygen(a) => keygen::run(ctx, a),
        Command::Keys(a) => match &a.action {
            None => keys::list(ctx, &KeysListArgs { long: a.long }),
            Some(KeysAction::List(l)) => keys::list(ctx, l),
            Some(KeysAction::Add(x)) => keys::add(ctx, x),
            Some(KeysAction::Remove(x)) => keys::remove(ctx, x),
            Some(KeysAction::Clear(x)) => keys::clear(ctx, x),
        },
        Command::KeysList(l) => keys::list(ctx, l),
        Command::KeysAdd(x) => keys::add(ctx, x),
        Command::KeysRemove(x) => keys::remove(ctx, x),
        Command::KeysClear(x) => keys::clear(ctx, x),
        Command::Auth(a) => auth::run(ctx, a),
        Command::AuthWhoami => auth::run(
            ctx,
            &AuthArgs {
                action: AuthAction::Whoami,
            },
        ),
        Command::AuthToken => auth::run(
            ctx,
            &AuthArgs {
                action: AuthAction::Token,
            },
        ),
        Command::AuthLogin(l) => auth::login(ctx, l),
        Command::AuthLogout => auth::run(
            ctx,
            &AuthArgs {
                action: AuthAction::Logout,
            },
        ),
        Command::GitCredential(a) => git_credential::run(ctx, a),
        Command::Validate(a) => validate::run(ctx, a),
        Command::Config(a) => config::run(ctx, a),
        Command::FixConfig(a) => fix_config::run(ctx, a),
        Command::Doctor(a) => doctor::run(ctx, a),
        Command::Completions(a) => completions::run(ctx, a),
        Command::GenerateMan(a) => man::run(a),
    }
}
