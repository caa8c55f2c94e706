//! The macOS keychain backend end to end on Linux: herossh with `HEROSSH_KEYCHAIN=macos` and
//! `HEROSSH_SECURITY_PROGRAM` pointing at the `security` stand-in (support::security), with
//! items written and read the way the Heroku CLI writes and reads them. The first tests pin
//! the stand-in itself to the documented behaviour of Apple's tool (PLATFORMS.md §1), since
//! everything after them is only as good as it.

use serde_json::Value;

use crate::credentials::{
    LOOPBACK_MACHINE, TOKEN_MARK, netrc_entry, run, run_printing_token, status_json, tok, token_of,
    write_login_json, write_netrc,
};
use crate::support::fake_api::{FakeApi, ssh_keygen};
use crate::support::security::{Fault, Security};
use crate::support::{TestEnv, out};

const EMAIL: &str = "mac@example.com";
const NOT_FOUND_MSG: &str =
    "security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.\n";

fn text(o: &std::process::Output) -> (i32, String, String) {
    let (so, se) = out(o);
    (o.status.code().unwrap(), so, se)
}

/// A `dump-keychain` entry with the two timestamps blanked.
fn without_dates(dump: &str) -> String {
    dump.lines()
        .map(|l| {
            if l.starts_with("    \"cdat\"") || l.starts_with("    \"mdat\"") {
                format!("{}=<date>", l.split_once('=').unwrap().0)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn standin_commands_exit_codes_and_output_formats_are_the_tools() {
    let env = TestEnv::new();
    let s = Security::start(&env);
    let kc = s.keychain_file();

    // Not found: 44 and the message naming the search call.
    let o = s.run(
        &[
            "find-generic-password",
            "-a",
            EMAIL,
            "-s",
            "heroku-cli",
            "-w",
        ],
        b"",
    );
    assert_eq!(text(&o), (44, String::new(), NOT_FOUND_MSG.to_string()));
    // Account and service are required to add; usage errors are 2 with the usage text.
    let o = s.run(&["add-generic-password", "-a", EMAIL, "-w", "x"], b"");
    let (code, so, se) = text(&o);
    assert_eq!((code, so.as_str()), (2, ""));
    assert!(
        se.starts_with("Usage: add-generic-password [-h] [-a account]"),
        "{se}"
    );

    // A custom label, then -U: the data and the label (back to the service) are replaced.
    let o = s.run(
        &[
            "add-generic-password",
            "-a",
            EMAIL,
            "-s",
            "heroku-cli",
            "-l",
            "Mine",
            "-w",
            "one",
        ],
        b"",
    );
    assert_eq!(text(&o), (0, String::new(), String::new()));
    // Without -U the same account+service is a duplicate: 45.
    let o = s.run(
        &[
            "add-generic-password",
            "-a",
            EMAIL,
            "-s",
            "heroku-cli",
            "-w",
            "two",
        ],
        b"",
    );
    assert_eq!(
        text(&o),
        (
            45,
            String::new(),
            "security: SecKeychainItemCreateFromContent (<default>): The specified item already exists in the keychain.\n"
                .to_string()
        )
    );
    let o = s.run(
        &[
            "add-generic-password",
            "-U",
            "-a",
            EMAIL,
            "-s",
            "heroku-cli",
            "-w",
            "two",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(0));
    // -w: the secret and one newline; -g: attributes on stdout, the password on stderr.
    let o = s.run(
        &["find-generic-password", "-wa", EMAIL, "-s", "heroku-cli"],
        b"",
    );
    assert_eq!(text(&o), (0, "two\n".to_string(), String::new()));
    let o = s.run(&["find-generic-password", "-g", "-s", "heroku-cli"], b"");
    let (code, so, se) = text(&o);
    assert_eq!((code, se.as_str()), (0, "password: \"two\"\n"));
    let entry = format!(
        "keychain: \"{}\"\nversion: 512\nclass: \"genp\"\nattributes:\n    \
         0x00000007 <blob>=\"heroku-cli\"\n    0x00000008 <blob>=<NULL>\n    \
         \"acct\"<blob>=\"{EMAIL}\"\n    \"cdat\"<timedate>=<date>\n    \
         \"crtr\"<uint32>=<NULL>\n    \"cusi\"<sint32>=<NULL>\n    \"desc\"<blob>=<NULL>\n    \
         \"gena\"<blob>=<NULL>\n    \"icmt\"<blob>=<NULL>\n    \"invi\"<sint32>=<NULL>\n    \
         \"mdat\"<timedate>=<date>\n    \"nega\"<sint32>=<NULL>\n    \"prot\"<blob>=<NULL>\n    \
         \"scrp\"<sint32>=<NULL>\n    \"svce\"<blob>=\"heroku-cli\"\n    \"type\"<uint32>=<NULL>",
        kc.display()
    );
    assert_eq!(without_dates(&so), entry);
    // The timestamps are keychain timedates: `0x<HEX>  "YYYYMMDDhhmmssZ\000"`, the hex
    // being the same 16 bytes.
    let cdat = so.lines().find(|l| l.contains("\"cdat\"")).unwrap();
    let (hex, shown) = cdat
        .strip_prefix("    \"cdat\"<timedate>=0x")
        .and_then(|v| v.split_once("  "))
        .unwrap_or_else(|| panic!("{cdat}"));
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!((bytes.len(), bytes[14], bytes[15]), (16, b'Z', 0), "{cdat}");
    assert_eq!(
        shown,
        format!("\"{}\\000\"", String::from_utf8_lossy(&bytes[..15]))
    );
    assert!(bytes[..14].iter().all(u8::is_ascii_digit), "{cdat}");

    // A secret with bytes that are not printable ASCII comes back as lowercase hex.
    let o = s.run(
        &[
            "add-generic-password",
            "-a",
            "hex@example.com",
            "-s",
            "heroku-cli",
            "-X",
            "74C3B80a",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(0));
    let o = s.run(
        &[
            "find-generic-password",
            "-a",
            "hex@example.com",
            "-s",
            "heroku-cli",
            "-w",
        ],
        b"",
    );
    assert_eq!(text(&o), (0, "74c3b80a\n".to_string(), String::new()));
    let o = s.run(
        &["add-generic-password", "-a", "x", "-s", "y", "-X", "7z"],
        b"",
    );
    assert_eq!(o.status.code(), Some(2));

    // dump-keychain lists every item in that format; -d adds the data.
    let o = s.run(&["dump-keychain"], b"");
    let (code, so, _) = text(&o);
    assert_eq!(code, 0);
    assert_eq!(so.matches("keychain: ").count(), 2);
    assert!(without_dates(&so).starts_with(&entry), "{so}");
    let o = s.run(&["dump-keychain", "-d"], b"");
    assert!(out(&o).0.contains("data:\n\"two\"\n"), "{}", out(&o).0);
    assert!(
        out(&o)
            .0
            .contains("data:\n0x74C3B80A  \"t\\303\\270\\012\"\n")
    );

    // delete: the first match's attributes on stdout, the note on stderr; then 44.
    let o = s.run(
        &["delete-generic-password", "-a", EMAIL, "-s", "heroku-cli"],
        b"",
    );
    let (code, so, se) = text(&o);
    assert_eq!((code, se.as_str()), (0, "password has been deleted.\n"));
    assert_eq!(without_dates(so.trim_end()), entry);
    let o = s.run(
        &["delete-generic-password", "-a", EMAIL, "-s", "heroku-cli"],
        b"",
    );
    assert_eq!(text(&o), (44, String::new(), NOT_FOUND_MSG.to_string()));
    // Nothing to match on is a usage error.
    assert_eq!(
        s.run(&["delete-generic-password"], b"").status.code(),
        Some(2)
    );
}

#[test]
fn standin_interactive_mode_tokenizer_line_limit_and_exit_status() {
    let env = TestEnv::new();
    let s = Security::start(&env);

    // Quotes open only at the start of an argument; backslash escapes; -X takes hex.
    let o = s.run(
        &["-i"],
        b"add-generic-password -a \"a \\\"q\\\" b\" -s 'svc' -X 7061\nfind-generic-password -a 'a \"q\" b' -w\n",
    );
    assert_eq!(text(&o), (0, "pa\n".to_string(), String::new()));
    // A failing command says `NAME: returned STATUS` (not with -q); the exit status is the
    // last command's.
    let o = s.run(&["-i"], b"find-generic-password -a nobody -s svc -w\n");
    assert_eq!(
        text(&o),
        (
            44,
            String::new(),
            format!("{NOT_FOUND_MSG}find-generic-password: returned -25300\n")
        )
    );
    let o = s.run(
        &["-q", "-i"],
        b"find-generic-password -a nobody -w\nfind-generic-password -a 'a \"q\" b' -w\n",
    );
    assert_eq!(text(&o), (0, "pa\n".to_string(), NOT_FOUND_MSG.to_string()));
    // A line of exactly 4095 bytes leaves its newline for an empty command whose status 0
    // hides the failure: why herossh keeps its line at 4094 bytes.
    let mut line = b"find-generic-password -a nobody -s svc".to_vec();
    line.resize(4095, b' ');
    line.push(b'\n');
    assert_eq!(s.run(&["-i"], &line).status.code(), Some(0));
    line.truncate(4094);
    line.push(b'\n');
    assert_eq!(s.run(&["-i"], &line).status.code(), Some(44));
    // A longer line is split: the rest is read as the next command.
    let mut long = b"find-generic-password -a nobody".to_vec();
    long.resize(4095, b' ');
    long.extend_from_slice(b"bogus-command\n");
    let (code, _, se) = text(&s.run(&["-q", "-i"], &long));
    assert_eq!(
        (code, se.as_str()),
        (
            1,
            &*format!("{NOT_FOUND_MSG}security: unknown command \"bogus-command\"\n")
        )
    );
    // A last line without its newline is never run.
    let o = s.run(&["-i"], b"add-generic-password -a late -s svc -w x");
    assert_eq!(text(&o), (0, String::new(), String::new()));
    assert_eq!(
        s.run(&["find-generic-password", "-a", "late"], b"")
            .status
            .code(),
        Some(44)
    );
    // The argv log shows what ps shows; the commands read on stdin are logged with the
    // secret values hidden.
    let log = s.log();
    assert!(log.contains("argv: [-i]\nstdin: [add-generic-password] [-a] [a \"q\" b] [-s] [svc] [-X] [<secret>]\n"), "{log}");
}

#[test]
fn standin_faults_locked_refused_and_duplicate_after_a_refused_update() {
    let env = TestEnv::new();
    let s = Security::start(&env);
    s.store_like_heroku_cli(EMAIL, "tok");
    let find = [
        "find-generic-password",
        "-a",
        EMAIL,
        "-s",
        "heroku-cli",
        "-w",
    ];
    let update = [
        "add-generic-password",
        "-U",
        "-a",
        EMAIL,
        "-s",
        "heroku-cli",
        "-w",
        "new",
    ];
    let delete = ["delete-generic-password", "-a", EMAIL, "-s", "heroku-cli"];

    s.set_fault(Some(Fault::Locked));
    // Reading the secret fails with no message; the item is still found by its attributes.
    assert_eq!(text(&s.run(&find, b"")), (36, String::new(), String::new()));
    assert_eq!(s.run(&find[..5], b"").status.code(), Some(0));
    let (code, _, se) = text(&s.run(&update, b""));
    assert_eq!(code, 36);
    assert_eq!(
        se,
        "security: SecKeychainItemModifyContent: User interaction is not allowed.\n\
         security: SecKeychainItemCreateFromContent (<default>): User interaction is not allowed.\n"
    );
    let (code, _, se) = text(&s.run(&delete, b""));
    assert_eq!((code, se.as_str()), (36, "password has been deleted.\n"));

    s.set_fault(Some(Fault::Refuse));
    assert_eq!(text(&s.run(&find, b"")).0, 128);
    // A refused update falls through to an add, which finds the item: 45.
    assert_eq!(text(&s.run(&update, b"")).0, 45);
    assert_eq!(text(&s.run(&delete, b"")).0, 128);
    // Not found is still 44.
    assert_eq!(
        s.run(&["find-generic-password", "-a", "other", "-w"], b"")
            .status
            .code(),
        Some(44)
    );

    s.set_fault(None);
    assert_eq!(s.read_like_heroku_cli(EMAIL).as_deref(), Some("tok"));
}

/// Every herossh command that needs the token finds the one the Heroku CLI stored.
#[test]
fn a_heroku_cli_item_is_found_by_every_command_that_needs_the_token() {
    let env = TestEnv::new();
    let token = tok("mac-heroku-cli");
    let api = FakeApi::start();
    api.add_token(&token, EMAIL);
    let s = Security::start(&env);
    s.store_like_heroku_cli(EMAIL, &token);
    write_login_json(&env, EMAIL);
    s.clear_log();

    let (code, so, se) = token_of(&mut s.herossh(&env));
    assert_eq!((code, so, se), (0, format!("{token}\n"), String::new()));

    let o = run(s
        .herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["auth", "whoami"]));
    assert_eq!(text(&o), (0, format!("{EMAIL}\n"), String::new()));

    let o = run(s.herossh(&env).env("HEROKU_HOST", api.url()).arg("keys"));
    assert_eq!(
        text(&o),
        (0, String::new(), "You have no SSH keys.\n".to_string())
    );
    let (_, line) = ssh_keygen(&env.scratch(), "id_mac", "ed25519", "mac@laptop");
    let pubfile = env.scratch().join("id_mac.pub");
    let o = run(s
        .herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["keys", "add"])
        .arg(&pubfile)
        .arg("--yes"));
    assert_eq!(o.status.code(), Some(0), "{:?}", out(&o));
    assert_eq!(api.keys(EMAIL).len(), 1);
    assert_eq!(api.keys(EMAIL)[0].public_key, line);

    let o = run_printing_token(
        s.herossh(&env)
            .env_remove("HEROKU_HOST")
            .args(["git-credential", "get"])
            .write_stdin("protocol=https\nhost=git.heroku.com\n\n"),
    );
    assert_eq!(
        text(&o),
        (
            0,
            format!("protocol=https\nhost=git.heroku.com\nusername=heroku\npassword={token}\n"),
            String::new()
        )
    );

    let (code, v) = status_json(s.herossh(&env).env("HEROKU_HOST", api.url()));
    assert_eq!(code, 0);
    assert_eq!(v["source"], "keychain");
    assert_eq!(v["verified"], true);

    let o = run(s.herossh(&env).args(["--json", "doctor", "--offline"]));
    let v: Value = serde_json::from_str(&out(&o).0).unwrap();
    let logged_in = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "logged-in")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(
        logged_in["message"],
        format!(
            "logged in as {EMAIL} (token from the macOS keychain (service heroku-cli, account {EMAIL}))"
        )
    );

    // Every read was the Heroku CLI's own: find-generic-password -w by account and service.
    let log = s.log();
    let argv: Vec<&str> = log.lines().filter(|l| l.starts_with("argv:")).collect();
    assert!(argv.len() >= 7, "{log}");
    for l in argv {
        assert_eq!(
            l,
            format!("argv: [find-generic-password] [-a] [{EMAIL}] [-s] [heroku-cli] [-w]")
        );
    }
}

#[test]
fn auth_login_writes_through_security_i_an_item_the_heroku_cli_reads_and_logout_deletes_it() {
    let env = TestEnv::new();
    let token = tok("mac-login");
    let api = FakeApi::start();
    api.add_token(&token, EMAIL);
    let s = Security::start(&env);
    let o = run(s
        .herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["auth", "login", "--token-stdin"])
        .write_stdin(format!("{token}\n")));
    assert_eq!(
        text(&o),
        (
            0,
            format!("Logged in as {EMAIL}\n"),
            format!(
                "Token stored in the macOS keychain (account {EMAIL}, ~/.local/share/heroku/login.json)\n"
            )
        )
    );
    // The Heroku CLI finds it, by account (login.json) and by listing the keychain.
    assert_eq!(s.read_like_heroku_cli(EMAIL), Some(token.clone()));
    assert_eq!(s.accounts_like_heroku_cli(), [EMAIL]);
    assert_eq!(
        std::fs::read_to_string(env.home().join(".local/share/heroku/login.json")).unwrap(),
        format!(r#"{{"account":"{EMAIL}"}}"#)
    );
    assert!(!env.home().join(".netrc").exists());
    // The token went as -X hex on stdin; `security -i` was all argv said.
    let log = s.log();
    assert!(!log.contains(TOKEN_MARK), "{log}");
    assert!(
        log.starts_with(
            "argv: [-i]\nstdin: [add-generic-password] [-U] [-a] [mac@example.com] [-s] [heroku-cli] [-X] [<secret>]\nexit: 0\n"
        ),
        "{log}"
    );
    // The label is the service name, as for the Heroku CLI's own items.
    let dump = out(&s.run(&["dump-keychain"], b"")).0;
    assert!(
        dump.contains("    0x00000007 <blob>=\"heroku-cli\"\n"),
        "{dump}"
    );
    // A second login replaces the token in place (-U): still one item.
    let newer = tok("mac-login-2");
    api.add_token(&newer, EMAIL);
    let o = run(s
        .herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["auth", "login", "--token-stdin"])
        .write_stdin(newer.clone()));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(s.read_like_heroku_cli(EMAIL), Some(newer));
    assert_eq!(s.accounts_like_heroku_cli(), [EMAIL]);

    // Logout deletes the item and login.json.
    let o = run(s.herossh(&env).args(["auth", "logout"]));
    assert_eq!(
        text(&o),
        (
            0,
            String::new(),
            format!("Removed the keychain item for {EMAIL}, ~/.local/share/heroku/login.json\n")
        )
    );
    assert!(s.log().ends_with(&format!(
        "argv: [delete-generic-password] [-a] [{EMAIL}] [-s] [heroku-cli]\nexit: 44\n"
    )));
    assert_eq!(s.read_like_heroku_cli(EMAIL), None);
    assert!(!env.home().join(".local/share/heroku/login.json").exists());
    // Nothing left: logout again has nothing to remove.
    let o = run(s.herossh(&env).args(["auth", "logout"]));
    assert_eq!(
        text(&o),
        (
            0,
            String::new(),
            "Nothing to remove: not logged in\n".to_string()
        )
    );
}

#[test]
fn auth_status_names_the_macos_keychain_as_the_tier() {
    let env = TestEnv::new();
    let s = Security::start(&env);
    let api = FakeApi::start();
    api.add_token(&tok("status"), EMAIL);
    s.store_like_heroku_cli(EMAIL, &tok("status"));
    write_login_json(&env, EMAIL);
    let o = run(s
        .herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["auth", "status"]));
    let (code, so, se) = text(&o);
    // The API confirms the token: status exits 0 (it exits 3 when it cannot check).
    assert_eq!(code, 0, "{so}{se}");
    assert_eq!(
        so,
        format!(
            "Source:    keychain\nAccount:   {EMAIL} (confirmed by the Platform API)\n\
             Stored in: the macOS keychain (service heroku-cli, account {EMAIL})\n\
             API host:  {}\nKeychain:  available (macOS keychain)\n",
            api.url().trim_start_matches("http://")
        )
    );
    let (_, v) = status_json(s.herossh(&env).env("HEROKU_HOST", api.url()));
    assert_eq!(v["source"], "keychain");
    assert_eq!(v["keychain"], "available");
    assert_eq!(
        v["stored"],
        format!("the macOS keychain (service heroku-cli, account {EMAIL})")
    );
}

/// errSecInteractionNotAllowed (36: locked, no GUI session): the token comes from netrc, a
/// login goes to netrc (like the Heroku CLI), logout keeps login.json; `-v` says why.
#[test]
fn a_locked_keychain_falls_back_to_netrc_and_says_why_at_v() {
    let env = TestEnv::new();
    let s = Security::start(&env);
    s.store_like_heroku_cli(EMAIL, &tok("locked-away"));
    let login_json = write_login_json(&env, EMAIL);
    write_netrc(
        &env,
        &netrc_entry(LOOPBACK_MACHINE, "n@example.com", &tok("netrc")),
    );
    s.set_fault(Some(Fault::Locked));

    let (code, so, se) = token_of(&mut s.herossh(&env));
    assert_eq!(
        (code, so, se),
        (0, format!("{}\n", tok("netrc")), String::new())
    );
    let o = run_printing_token(s.herossh(&env).args(["-v", "auth", "token"]));
    let why = "the macOS keychain is locked or needs a dialog that cannot be shown here \
               (`security find-generic-password` exit 36, errSecInteractionNotAllowed)";
    assert!(
        out(&o).1.contains(&format!(
            "credentials: keychain unavailable ({why}), trying netrc"
        )),
        "{}",
        out(&o).1
    );
    let (_, v) = status_json(&mut s.herossh(&env));
    assert_eq!(v["source"], "netrc");
    assert_eq!(v["keychain"], format!("unavailable: {why}"));

    let o = run(s.herossh(&env).args(["auth", "logout"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).1.contains(&format!(
        "could not remove the keychain item for {EMAIL} (the macOS keychain is locked or needs a dialog that cannot be shown here (`security delete-generic-password` exit 36, errSecInteractionNotAllowed)); kept ~/.local/share/heroku/login.json"
    )), "{}", out(&o).1);
    assert!(login_json.exists());

    // A login while locked stores in netrc, as the Heroku CLI falls back to it.
    let token = tok("login-while-locked");
    let api = FakeApi::start();
    api.add_token(&token, EMAIL);
    std::fs::remove_file(env.home().join(".netrc")).unwrap();
    let o = run(s
        .herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["-v", "auth", "login", "--token-stdin"])
        .write_stdin(token.clone()));
    let (code, _, se) = text(&o);
    assert_eq!(code, 0, "{se}");
    assert!(se.contains("(`security -i add-generic-password` exit 36, errSecInteractionNotAllowed)), storing in netrc"), "{se}");
    assert!(
        std::fs::read_to_string(env.home().join(".netrc"))
            .unwrap()
            .contains(&token)
    );
}

/// errSecUserCanceled (128): the user pressed Deny. Reads fall back to netrc; a login's
/// update is refused and its add is then a duplicate (45), so the token goes to netrc.
#[test]
fn a_refused_dialog_falls_back_to_netrc() {
    let env = TestEnv::new();
    let s = Security::start(&env);
    s.store_like_heroku_cli(EMAIL, &tok("refused"));
    write_login_json(&env, EMAIL);
    write_netrc(
        &env,
        &netrc_entry(LOOPBACK_MACHINE, "n@example.com", &tok("netrc")),
    );
    s.set_fault(Some(Fault::Refuse));
    let o = run_printing_token(s.herossh(&env).args(["-v", "auth", "token"]));
    let (code, so, se) = text(&o);
    assert_eq!((code, so), (0, format!("{}\n", tok("netrc"))));
    assert!(se.contains("keychain unavailable (access to the macOS keychain item was refused in its permission dialog (`security find-generic-password` exit 128, errSecUserCanceled)), trying netrc"), "{se}");

    let token = tok("login-refused");
    let api = FakeApi::start();
    api.add_token(&token, EMAIL);
    let o = run(s
        .herossh(&env)
        .env("HEROKU_HOST", api.url())
        .args(["-v", "auth", "login", "--token-stdin"])
        .write_stdin(token.clone()));
    let (code, _, se) = text(&o);
    assert_eq!(code, 0, "{se}");
    assert!(se.contains("the macOS keychain item exists and could not be replaced (`security -i add-generic-password` exit 45, errSecDuplicateItem)"), "{se}");
    assert!(
        std::fs::read_to_string(env.home().join(".netrc"))
            .unwrap()
            .contains(&token)
    );
    s.set_fault(None);
    assert_eq!(s.read_like_heroku_cli(EMAIL), Some(tok("refused")));
}

/// Secrets that are not printable ASCII: `security` prints them as hex, and herossh decodes
/// that; herossh's own writes (hex on stdin) store exactly the bytes.
#[test]
fn non_printable_secrets_round_trip() {
    use herossh::credentials::Secret;
    use herossh::credentials::keychain::Backend;

    let env = TestEnv::new();
    let s = Security::start(&env);
    let odd = format!("{TOKEN_MARK}tøken-€-\"q\"-\\");
    // Written by the Heroku CLI's command (argv), read by herossh.
    s.store_like_heroku_cli(EMAIL, &odd.replace('\\', "\\\\").replace('"', "\\\""));
    write_login_json(&env, EMAIL);
    let o = s.run(
        &[
            "find-generic-password",
            "-a",
            EMAIL,
            "-s",
            "heroku-cli",
            "-w",
        ],
        b"",
    );
    let hex: String = odd.bytes().map(|b| format!("{b:02x}")).collect();
    assert_eq!(out(&o).0, format!("{hex}\n"), "security prints it as hex");
    let (code, so, _) = token_of(&mut s.herossh(&env));
    assert_eq!((code, so), (0, format!("{odd}\n")));

    // Written by herossh's backend (hex on stdin), read back by it and by `security`.
    s.clear_log();
    let backend = Backend::MacOs(s.program().to_path_buf());
    // (`0a` is printable, and what `security` prints for it is also the hex of "\n".)
    for secret in [
        odd.clone(),
        format!("{TOKEN_MARK}é"),
        "日本語".into(),
        "0a".into(),
    ] {
        let (put, who) = (Secret::new(secret.clone()), "rt@example.com".to_string());
        let got = backend
            .with(move |k| {
                k.set(&who, &put)?;
                k.get(&who)
            })
            .unwrap()
            .unwrap();
        assert_eq!(got.expose(), secret);
        let o = s.run(
            &["find-generic-password", "-a", "rt@example.com", "-w"],
            b"",
        );
        let printable = secret.bytes().all(|b| (0x20..0x7f).contains(&b));
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        let expected = if printable { secret.clone() } else { hex };
        assert_eq!(out(&o).0, format!("{expected}\n"));
    }
    // Deleting reports whether anything was there.
    assert!(backend.with(|k| k.delete("rt@example.com")).unwrap());
    assert!(!backend.with(|k| k.delete("rt@example.com")).unwrap());
    // None of those secrets was on an argv.
    let log = s.log();
    assert!(!log.contains(TOKEN_MARK), "{log}");
    assert_eq!(log.matches("argv: [-i]\n").count(), 4, "{log}");
}

#[test]
fn herossh_keychain_none_skips_the_keychain() {
    let env = TestEnv::new();
    let s = Security::start(&env);
    s.store_like_heroku_cli(EMAIL, &tok("ignored"));
    write_login_json(&env, EMAIL);
    write_netrc(
        &env,
        &netrc_entry(LOOPBACK_MACHINE, "n@example.com", &tok("netrc")),
    );
    s.clear_log();
    let (code, so, _) = token_of(s.herossh(&env).env("HEROSSH_KEYCHAIN", "none"));
    assert_eq!((code, so), (0, format!("{}\n", tok("netrc"))));
    let (_, v) = status_json(s.herossh(&env).env("HEROSSH_KEYCHAIN", "none"));
    assert_eq!(v["source"], "netrc");
    assert_eq!(
        v["keychain"],
        "unavailable: turned off by HEROSSH_KEYCHAIN=none"
    );
    // A login goes to netrc.
    let token = tok("none-login");
    let api = FakeApi::start();
    api.add_token(&token, EMAIL);
    let o = run(s
        .herossh(&env)
        .env("HEROSSH_KEYCHAIN", "none")
        .env("HEROKU_HOST", api.url())
        .args(["auth", "login", "--token-stdin"])
        .write_stdin(token.clone()));
    assert_eq!(o.status.code(), Some(0));
    assert!(
        std::fs::read_to_string(env.home().join(".netrc"))
            .unwrap()
            .contains(&token)
    );
    // `security` never ran.
    assert_eq!(s.log(), "");
    assert_eq!(s.read_like_heroku_cli(EMAIL), Some(tok("ignored")));
}

#[test]
fn wrong_keychain_settings_are_usage_errors() {
    let env = TestEnv::new();
    let s = Security::start(&env);
    write_login_json(&env, EMAIL);
    for (var, value, message) in [
        (
            "HEROSSH_SECURITY_PROGRAM",
            "security",
            "herossh: HEROSSH_SECURITY_PROGRAM must be an absolute path (herossh never looks it up on PATH), not security\n",
        ),
        (
            "HEROSSH_KEYCHAIN",
            "osx",
            "herossh: HEROSSH_KEYCHAIN=osx is not one of auto, secret-service, macos, none\n",
        ),
    ] {
        let (code, so, se) = token_of(s.herossh(&env).env(var, value));
        assert_eq!((code, so.as_str(), se.as_str()), (2, "", message));
        let o = run(s.herossh(&env).env(var, value).args(["auth", "status"]));
        assert_eq!(text(&o).0, 2);
    }
    assert_eq!(s.log(), "");
    // An absolute path that does not exist is no keychain: netrc is used, -v says why.
    let o = run_printing_token(
        s.herossh(&env)
            .env("HEROSSH_SECURITY_PROGRAM", "/nonexistent/security")
            .args(["-v", "auth", "token"]),
    );
    let (code, _, se) = text(&o);
    assert_eq!(code, 4);
    assert!(
        se.contains("keychain unavailable (cannot run /nonexistent/security: No such file or directory (os error 2)), trying netrc"),
        "{se}"
    );
    let (_, v) = status_json(
        s.herossh(&env)
            .env("HEROSSH_SECURITY_PROGRAM", "/nonexistent/security"),
    );
    assert_eq!(
        v["keychain"],
        "unavailable: cannot run /nonexistent/security: No such file or directory (os error 2)"
    );
}

/// A `security` that never answers (a dialog nobody sees) is stopped after herossh's
/// keychain timeout, and netrc answers.
#[test]
fn a_hung_security_is_stopped_after_the_timeout() {
    let env = TestEnv::new();
    let s = Security::start(&env);
    s.store_like_heroku_cli(EMAIL, &tok("hung"));
    write_login_json(&env, EMAIL);
    write_netrc(
        &env,
        &netrc_entry(LOOPBACK_MACHINE, "n@example.com", &tok("netrc")),
    );
    s.set_fault(Some(Fault::Hang));
    let started = std::time::Instant::now();
    let o = run_printing_token(s.herossh(&env).args(["-v", "auth", "token"]));
    let took = started.elapsed();
    let (code, so, se) = text(&o);
    assert_eq!((code, so), (0, format!("{}\n", tok("netrc"))));
    assert!(
        se.contains(&format!(
            "keychain unavailable (no answer from {} within 5 s (stopped it)), trying netrc",
            s.program().display()
        )),
        "{se}"
    );
    assert!(took < std::time::Duration::from_secs(15), "{took:?}");
    // The stand-in logged its pid before waiting; herossh killed and reaped it.
    let log = s.log();
    let pid = log
        .lines()
        .find_map(|l| l.strip_prefix("hang: pid "))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} still runs"
    );
}
