//! The Platform API stand-in checked against an independent client (curl) and ssh-keygen, then
//! herossh's own client checked against it: headers, error mapping, retries, timeouts.

use std::time::Duration;

use herossh::credentials::Secret;
use herossh::error::Kind;
use herossh::platform::{Client, Endpoint, Timeouts};
use serde_json::{Value, json};

use crate::support::TestEnv;
use crate::support::fake_api::*;

const TOKEN: &str = "tok-0123456789abcdef";
const EMAIL: &str = "dev@example.com";

/// curl as the independent HTTP client: (status, body).
fn curl(
    api: &FakeApi,
    method: &str,
    path: &str,
    headers: &[&str],
    body: Option<&str>,
) -> (u16, String) {
    let mut cmd = std::process::Command::new("curl");
    cmd.args([
        "-s",
        "--noproxy",
        "*",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        "-X",
        method,
    ]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    if let Some(b) = body {
        cmd.args(["--data-binary", b]);
    }
    cmd.arg(format!("{}{}", api.url(), path));
    let out = cmd.output().expect("run curl");
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), body.to_string())
}

const V3: &str = "Accept: application/vnd.heroku+json; version=3";
fn bearer(t: &str) -> String {
    format!("Authorization: Bearer {t}")
}

fn started() -> FakeApi {
    let api = FakeApi::start();
    api.add_token(TOKEN, EMAIL);
    api
}

fn client(api: &FakeApi) -> Client {
    client_with(api, TOKEN, Timeouts::default())
}

fn client_with(api: &FakeApi, token: &str, t: Timeouts) -> Client {
    let ep = Endpoint::from_values(Some(&api.url()), None);
    Client::with_timeouts(&ep, &Secret::new(token), t).unwrap()
}

#[test]
fn stand_in_requires_the_v3_accept_header() {
    let api = started();
    let (code, body) = curl(&api, "GET", "/account", &[&bearer(TOKEN)], None);
    assert_eq!(code, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"id": "bad_request", "message": MSG_NO_VERSION})
    );
}

#[test]
fn stand_in_requires_a_known_bearer_token() {
    let api = started();
    for auth in [None, Some(bearer("wrong")), Some(format!("Basic {TOKEN}"))] {
        let mut h = vec![V3.to_string()];
        h.extend(auth);
        let h: Vec<&str> = h.iter().map(String::as_str).collect();
        let (code, body) = curl(&api, "GET", "/account", &h, None);
        assert_eq!(code, 401);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"id": "unauthorized", "message": MSG_UNAUTHORIZED})
        );
    }
    let (code, body) = curl(&api, "GET", "/account", &[V3, &bearer(TOKEN)], None);
    assert_eq!(code, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["email"], EMAIL);
    assert_eq!(v["id"], account_id(EMAIL));
}

#[test]
fn stand_in_keys_lifecycle_matches_ssh_keygen_fingerprints() {
    let env = TestEnv::new();
    let api = started();
    let (priv_path, line) = ssh_keygen(&env.scratch(), "k1", "ed25519", "me@laptop");
    let pub_path = priv_path.with_file_name("k1.pub");
    let body = json!({ "public_key": line }).to_string();
    let auth = bearer(TOKEN);
    let h = [V3, &auth, "Content-Type: application/json"];
    let (code, created) = curl(&api, "POST", "/account/keys", &h, Some(&body));
    assert_eq!(code, 201, "{created}");
    let created: Value = serde_json::from_str(&created).unwrap();
    let md5 = ssh_keygen_fingerprint(&pub_path, "md5");
    assert_eq!(
        format!("MD5:{}", created["fingerprint"].as_str().unwrap()),
        md5
    );
    assert_eq!(created["comment"], "me@laptop");
    assert_eq!(created["email"], "me@laptop");
    assert_eq!(created["public_key"], line);
    assert_eq!(created["created_at"], CREATED_AT);

    let (code, list) = curl(&api, "GET", "/account/keys", &h[..2], None);
    assert_eq!(code, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&list).unwrap(),
        json!([created])
    );

    // By fingerprint, then by id: 200 with the key, then 404.
    let fp = created["fingerprint"].as_str().unwrap();
    let (code, got) = curl(&api, "GET", &format!("/account/keys/{fp}"), &h[..2], None);
    assert_eq!(
        (code, serde_json::from_str::<Value>(&got).unwrap()),
        (200, created.clone())
    );
    let id = created["id"].as_str().unwrap();
    let (code, _) = curl(
        &api,
        "DELETE",
        &format!("/account/keys/{id}"),
        &h[..2],
        None,
    );
    assert_eq!(code, 200);
    let (code, body) = curl(
        &api,
        "DELETE",
        &format!("/account/keys/{id}"),
        &h[..2],
        None,
    );
    assert_eq!(code, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"id": "not_found", "message": MSG_KEY_NOT_FOUND})
    );
    assert!(api.keys(EMAIL).is_empty());
}

#[test]
fn stand_in_rejects_malformed_keys_and_keys_of_other_accounts() {
    let env = TestEnv::new();
    let api = started();
    api.add_token("other-token", "other@example.com");
    let (_, line) = ssh_keygen(&env.scratch(), "k", "ed25519", "c");
    api.add_key("other@example.com", &line);
    let auth = bearer(TOKEN);
    let h = [V3, &auth, "Content-Type: application/json"];
    for (key, msg) in [
        ("ssh-ed25519 not-base64!", MSG_INVALID_KEY),
        ("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIA==", MSG_INVALID_KEY),
        (line.as_str(), MSG_KEY_IN_USE),
    ] {
        let body = json!({ "public_key": key }).to_string();
        let (code, got) = curl(&api, "POST", "/account/keys", &h, Some(&body));
        assert_eq!(code, 422, "{key}");
        assert_eq!(
            serde_json::from_str::<Value>(&got).unwrap(),
            json!({"id": "invalid_params", "message": msg})
        );
    }
    assert!(api.keys(EMAIL).is_empty());
}

#[test]
fn stand_in_logs_requests_and_applies_faults_once_in_order() {
    let api = started();
    api.fail_next(503, &error_body("unavailable", "down"));
    api.rate_limit_next(7);
    let auth = bearer(TOKEN);
    let h = [V3, &auth];
    assert_eq!(curl(&api, "GET", "/account", &h, None).0, 503);
    assert_eq!(curl(&api, "GET", "/account", &h, None).0, 429);
    assert_eq!(curl(&api, "GET", "/account", &h, None).0, 200);
    let reqs = api.requests();
    assert_eq!(api.request_lines(), vec!["GET /account"; 3]);
    assert_eq!(
        reqs[0].header("Authorization"),
        Some(auth.trim_start_matches("Authorization: "))
    );
    let (code, _) = curl(&api, "GET", "/nope", &h, None);
    assert_eq!(code, 404);
}

#[test]
fn stand_in_md5_matches_ssh_keygen_for_every_key_type() {
    let env = TestEnv::new();
    for kind in ["rsa", "ed25519", "ecdsa", "dsa"] {
        let (p, line) = ssh_keygen(&env.scratch(), kind, kind, "c");
        let expected = ssh_keygen_fingerprint(&p.with_file_name(format!("{kind}.pub")), "md5");
        assert_eq!(
            format!("MD5:{}", md5_fingerprint(&line).unwrap()),
            expected,
            "{kind}"
        );
    }
}

// ---- herossh's client against the stand-in ----

#[test]
fn client_sends_the_contract_headers() {
    let env = TestEnv::new();
    let api = started();
    let (_, line) = ssh_keygen(&env.scratch(), "k", "ed25519", "c1");
    let c = client(&api);
    let account = c.account().unwrap();
    assert_eq!(account.email, EMAIL);
    assert_eq!(account.id, account_id(EMAIL));
    let added = c.add_key(&line).unwrap();
    assert_eq!(added.comment.as_deref(), Some("c1"));
    assert_eq!(c.list_keys().unwrap(), vec![added.clone()]);
    let reqs = api.requests();
    assert_eq!(
        api.request_lines(),
        ["GET /account", "POST /account/keys", "GET /account/keys"]
    );
    for r in &reqs {
        assert_eq!(r.header("accept"), Some(ACCEPT_V3));
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(
            r.header("user-agent"),
            Some(concat!("herossh/", env!("CARGO_PKG_VERSION")))
        );
    }
    assert_eq!(reqs[1].header("content-type"), Some("application/json"));
    assert_eq!(
        serde_json::from_str::<Value>(&reqs[1].body).unwrap(),
        json!({ "public_key": line })
    );
    assert_eq!(reqs[0].header("content-type"), None);
}

#[test]
fn client_maps_api_errors_to_exit_classes_without_the_token() {
    let api = started();
    let bad = client_with(&api, "bad-token-secret", Timeouts::default());
    let e = bad.account().unwrap_err();
    assert_eq!(e.kind, Kind::Auth);
    assert!(
        e.message
            .starts_with(&format!("{MSG_UNAUTHORIZED}\nError ID: unauthorized\n")),
        "{}",
        e.message
    );
    assert!(!e.message.contains("bad-token-secret"));

    let c = client(&api);
    api.fail_next(403, &error_body("suspended", "This account is suspended."));
    let e = c.list_keys().unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (
            Kind::Auth,
            "This account is suspended.\nError ID: suspended"
        )
    );

    let e = c.delete_key("nope").unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (Kind::Failed, "Couldn't find that key.\nError ID: not_found")
    );

    let f = c.try_add_key("ssh-ed25519 broken").unwrap_err();
    assert_eq!(
        (f.status, f.id.as_deref()),
        (Some(422), Some("invalid_params"))
    );
    assert_eq!(f.error().kind, Kind::Failed);
}

#[test]
fn client_retries_get_after_429_and_honours_retry_after() {
    let api = started();
    api.rate_limit_next(0);
    assert_eq!(client(&api).account().unwrap().email, EMAIL);
    assert_eq!(api.request_lines(), vec!["GET /account"; 2]);

    // A Retry-After beyond the wait budget is not slept through: one try, and the error says
    // when to come back.
    let api = started();
    api.rate_limit_next(60);
    let e = client(&api).account().unwrap_err();
    assert_eq!(e.kind, Kind::Network);
    assert_eq!(
        e.message,
        format!("{MSG_RATE_LIMIT}\nError ID: rate_limit\nTry again in 60 s.")
    );
    assert_eq!(api.request_lines(), ["GET /account"]);
}

#[test]
fn client_gives_up_after_three_5xx_and_retries_post_only_after_429() {
    let api = started();
    for _ in 0..3 {
        api.fail_next(503, &error_body("unavailable", "Service unavailable."));
    }
    let e = client(&api).list_keys().unwrap_err();
    assert_eq!(e.kind, Kind::Network);
    assert_eq!(e.message, "Service unavailable.\nError ID: unavailable");
    assert_eq!(api.request_lines(), vec!["GET /account/keys"; 3]);

    // A POST that failed with a 5xx may have added the key: it is not sent again.
    let api = started();
    api.fail_next(503, &error_body("unavailable", "Service unavailable."));
    let e = client(&api).add_key("ssh-ed25519 AAAA").unwrap_err();
    assert_eq!(e.kind, Kind::Network);
    assert_eq!(e.message, "Service unavailable.\nError ID: unavailable");
    assert_eq!(api.request_lines(), ["POST /account/keys"]);

    // A 429 turned the POST away before anything happened: it is tried again, and a second
    // one within the budget too, but never more than three times.
    let api = started();
    for _ in 0..3 {
        api.rate_limit_next(0);
    }
    let e = client(&api).add_key("ssh-ed25519 AAAA").unwrap_err();
    assert_eq!(e.kind, Kind::Network);
    assert!(
        e.message
            .contains("Error ID: rate_limit\nTry again in 0 s."),
        "{}",
        e.message
    );
    assert_eq!(api.request_lines(), vec!["POST /account/keys"; 3]);
}

#[test]
fn client_reports_unexpected_bodies_clearly() {
    for (fault, status) in [
        (Fault::Garbage, 200),
        (Fault::TruncatedJson, 200),
        (Fault::ShortBody, 200),
        (
            Fault::Respond {
                status: 502,
                headers: vec![],
                body: "<h1>Bad Gateway</h1>".into(),
            },
            502,
        ),
    ] {
        let api = started();
        // 502 is retried: make every try fail the same way.
        let tries = if status == 502 { 3 } else { 1 };
        for _ in 0..tries {
            api.fail_next_with(fault.clone());
        }
        let e = client(&api).list_keys().unwrap_err();
        assert_eq!(
            (e.kind, e.message.as_str()),
            (
                Kind::Network,
                format!("unexpected response from the Platform API (HTTP {status})").as_str()
            ),
            "{fault:?}"
        );
    }
}

#[test]
fn client_times_out_on_a_slow_answer() {
    let api = started();
    api.fail_next_with(Fault::Slow(Duration::from_secs(3)));
    let t = Timeouts {
        connect: Duration::from_millis(500),
        total: Duration::from_millis(500),
    };
    let e = client_with(&api, TOKEN, t).account().unwrap_err();
    assert_eq!(e.kind, Kind::Network);
    assert_eq!(
        e.message,
        format!(
            "the Platform API at {} did not answer within 0.5 s (set HEROSSH_TIMEOUT to the number of seconds to wait)",
            api.url()
        )
    );
}

#[test]
fn client_reports_a_refused_connection_as_network() {
    let api = FakeApi::start();
    let url = api.url();
    drop(api);
    let ep = Endpoint::from_values(Some(&url), None);
    let e = Client::with_timeouts(&ep, &Secret::new(TOKEN), Timeouts::default())
        .unwrap()
        .account()
        .unwrap_err();
    assert_eq!(e.kind, Kind::Network);
    assert!(
        e.message
            .starts_with(&format!("cannot connect to the Platform API at {url}: ")),
        "{}",
        e.message
    );
}

#[test]
fn client_deletes_concurrently_and_reports_each_result_in_order() {
    let env = TestEnv::new();
    let api = started();
    let a = api.add_key(EMAIL, &ssh_keygen(&env.scratch(), "a", "ed25519", "a").1);
    let b = api.add_key(EMAIL, &ssh_keygen(&env.scratch(), "b", "ed25519", "b").1);
    let ids = vec![a.id.clone(), "missing".to_string(), b.fingerprint.clone()];
    let results = client(&api).delete_keys(&ids);
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().unwrap().id, a.id);
    assert_eq!(results[1].as_ref().unwrap_err().kind, Kind::Failed);
    assert_eq!(results[2].as_ref().unwrap().id, b.id);
    assert!(api.keys(EMAIL).is_empty());
}

#[test]
fn stand_in_targeted_faults_wait_for_their_request() {
    let api = started();
    api.fail_next_for(
        "POST",
        Fault::Respond {
            status: 500,
            headers: vec![],
            body: "x".into(),
        },
    );
    let auth = bearer(TOKEN);
    let h = [V3, &auth];
    assert_eq!(curl(&api, "GET", "/account", &h, None).0, 200);
    assert_eq!(curl(&api, "POST", "/account/keys", &h, Some("{}")).0, 500);
    // Used up: the next POST is handled normally (and {} is not a key).
    assert_eq!(curl(&api, "POST", "/account/keys", &h, Some("{}")).0, 422);
}

#[test]
fn client_does_not_follow_redirects() {
    let api = started();
    api.fail_next_with(Fault::Respond {
        status: 302,
        headers: vec![("Location".into(), "http://127.0.0.1:9/account".into())],
        body: String::new(),
    });
    // Not the API answering: a server-side problem (exit 3), whatever the redirect says.
    let e = client(&api).account().unwrap_err();
    assert_eq!(
        (e.kind, e.code(), e.message.as_str()),
        (
            Kind::Network,
            "redirect",
            "unexpected response from the Platform API (HTTP 302): it redirects elsewhere, so \
             HEROKU_HOST does not name the Platform API (or a proxy or captive portal answered)"
        )
    );
    assert_eq!(api.request_lines(), ["GET /account"]);
}
