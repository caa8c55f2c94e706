//! An in-process stand-in for the Heroku Platform API's account and key endpoints.
//!
//! It follows the contract in DESIGN.md ("Facts the product is built on") exactly, so tests
//! exercise herossh's real HTTP client over real loopback TCP: the v3 `Accept` header is
//! required, `Authorization: Bearer TOKEN` must name a token added with [`FakeApi::add_token`],
//! keys carry an MD5 colon fingerprint computed from the decoded key blob, POST answers 201,
//! errors are `{"id","message"}` JSON with Heroku's ids and statuses. Faults can be queued for
//! the next requests ([`FakeApi::fail_next`] and friends), and every request is logged
//! ([`FakeApi::requests`]) so tests can assert what was — and was not — sent.
//!
//! HTTP/1.1 is hand-rolled on `std::net` (one thread per connection, `Connection: close`):
//! small, no extra dependency, and it lets faults break the protocol on purpose (truncated
//! bodies, garbage) in ways a server library would not allow.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

/// The media type the API requires; anything else gets Heroku's `bad_request`.
pub const ACCEPT_V3: &str = "application/vnd.heroku+json; version=3";

/// Timestamps of every object the stand-in creates (fixed, so outputs are exact).
pub const CREATED_AT: &str = "2026-01-02T03:04:05Z";

/// Heroku's messages, in one place so tests can assert them.
pub const MSG_UNAUTHORIZED: &str = "Invalid credentials provided.";
pub const MSG_NO_VERSION: &str = "Please specify a version along with Heroku's API MIME type. \
     For example, `Accept: application/vnd.heroku+json; version=3`.";
pub const MSG_KEY_NOT_FOUND: &str = "Couldn't find that key.";
pub const MSG_ROUTE_NOT_FOUND: &str = "The requested API endpoint was not found. Are you using \
     the right HTTP verb (i.e. `GET` vs. `POST`), and did you specify your intended version with \
     the `Accept` header?";
pub const MSG_INVALID_KEY: &str =
    "Invalid SSH public key. Keys look like `ssh-rsa AAAA... comment`.";
pub const MSG_KEY_IN_USE: &str =
    "Fingerprint already exists. Please use one SSH key per Heroku account.";
pub const MSG_KEY_ON_ACCOUNT: &str = "Fingerprint already exists on this account.";
pub const MSG_RATE_LIMIT: &str =
    "Your account reached the API rate limit\nPlease wait a few minutes before making new requests";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path as sent (still percent-encoded), without the query.
    pub path: String,
    /// Header names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
    /// `"GET /account/keys"`, for compact assertions on the request log.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A key stored on an account.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeKey {
    pub id: String,
    pub owner: String,
    pub comment: Option<String>,
    pub fingerprint: String,
    pub public_key: String,
}

impl FakeKey {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "comment": self.comment,
            "email": self.comment,
            "fingerprint": self.fingerprint,
            "public_key": self.public_key,
            "created_at": CREATED_AT,
            "updated_at": CREATED_AT,
        })
    }
}

/// What to do with the next request instead of (or before) answering it normally.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this status, extra headers and raw body.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// 200 with a body that is not JSON.
    Garbage,
    /// The real answer with its JSON cut in half (Content-Length matches what is sent).
    TruncatedJson,
    /// The real answer's headers promise more bytes than are sent before the connection closes.
    ShortBody,
    /// Wait this long, then answer normally.
    Slow(Duration),
}

#[derive(Default)]
struct State {
    /// token → account email
    tokens: HashMap<String, String>,
    keys: Vec<FakeKey>,
    /// (request-line prefix it applies to, fault); `None` applies to any request.
    faults: VecDeque<(Option<String>, Fault)>,
    requests: Vec<Request>,
    next_id: u64,
}

pub struct FakeApi {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeApi {
    /// Listens on 127.0.0.1 at a free port until dropped.
    pub fn start() -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake API");
        let addr = listener.local_addr().expect("fake API address");
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || serve(conn, &st));
            }
        });
        FakeApi {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// The base URL, for `HEROKU_HOST`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Accept `token` as the credential of the account `email` (created on first use).
    pub fn add_token(&self, token: &str, email: &str) {
        self.lock().tokens.insert(token.into(), email.into());
    }

    /// Put a key (an `authorized_keys`-style line) on `email`'s account, as if uploaded earlier.
    pub fn add_key(&self, email: &str, public_key: &str) -> FakeKey {
        let mut st = self.lock();
        let key = st.make_key(email, public_key).expect("valid public key");
        st.keys.push(key.clone());
        key
    }

    /// The keys on `email`'s account, oldest first.
    pub fn keys(&self, email: &str) -> Vec<FakeKey> {
        self.lock()
            .keys
            .iter()
            .filter(|k| k.owner == email)
            .cloned()
            .collect()
    }

    /// Answer the next request with `status` and `body` (raw, usually error JSON).
    pub fn fail_next(&self, status: u16, body: &str) {
        self.fail_next_with(Fault::Respond {
            status,
            headers: vec![],
            body: body.into(),
        });
    }

    /// Queue any fault for the next request (faults apply in the order queued).
    pub fn fail_next_with(&self, fault: Fault) {
        self.lock().faults.push_back((None, fault));
    }

    /// Queue a fault for the next request whose `"METHOD /path"` starts with `prefix`
    /// (e.g. `"POST"`, `"DELETE /account/keys/ID"`); other requests are answered normally.
    pub fn fail_next_for(&self, prefix: &str, fault: Fault) {
        self.lock().faults.push_back((Some(prefix.into()), fault));
    }

    /// Answer the next request with Heroku's 429 `rate_limit` and `Retry-After: secs`.
    pub fn rate_limit_next(&self, retry_after_secs: u64) {
        self.fail_next_with(Fault::Respond {
            status: 429,
            headers: vec![
                ("Retry-After".into(), retry_after_secs.to_string()),
                ("RateLimit-Remaining".into(), "0".into()),
            ],
            body: error_body("rate_limit", MSG_RATE_LIMIT),
        });
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }

    /// `"METHOD /path"` of every request so far.
    pub fn request_lines(&self) -> Vec<String> {
        self.requests().iter().map(Request::line).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `{"id": id, "message": message}` as Heroku sends it.
pub fn error_body(id: &str, message: &str) -> String {
    json!({ "id": id, "message": message }).to_string()
}

/// The legacy MD5 fingerprint (colon hex) of an `authorized_keys`-style line's key blob, or
/// `None` when the line is not a well-formed public key.
pub fn md5_fingerprint(public_key: &str) -> Option<String> {
    let blob = key_blob(public_key)?;
    let digest = md5::compute(&blob);
    Some(
        digest
            .0
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// The decoded blob of `TYPE BASE64 [COMMENT]` when its embedded type matches TYPE.
fn key_blob(public_key: &str) -> Option<Vec<u8>> {
    let mut parts = public_key.split_whitespace();
    let kind = parts.next()?;
    const TYPES: &[&str] = &[
        "ssh-rsa",
        "ssh-dss",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
    ];
    if !TYPES.contains(&kind) {
        return None;
    }
    let blob = base64_decode(parts.next()?)?;
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    (blob.get(4..4 + len)? == kind.as_bytes()).then_some(blob)
}

/// Strict standard base64 (with padding), enough for key blobs.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes = s.as_bytes();
    if bytes.is_empty() || bytes.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let last = i == bytes.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let three = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&three[..3 - pad]);
    }
    Some(out)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl State {
    fn make_key(&mut self, owner: &str, public_key: &str) -> Option<FakeKey> {
        let fingerprint = md5_fingerprint(public_key)?;
        let parts: Vec<&str> = public_key.split_whitespace().collect();
        let comment = (parts.len() > 2).then(|| parts[2..].join(" "));
        self.next_id += 1;
        Some(FakeKey {
            id: format!("00000000-0000-4000-8000-{:012x}", self.next_id),
            owner: owner.into(),
            comment,
            fingerprint,
            public_key: parts.join(" "),
        })
    }
}

/// A response before it is written.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn json(status: u16, value: Value) -> Self {
        Response {
            status,
            headers: vec![],
            body: value.to_string(),
        }
    }
    fn error(status: u16, id: &str, message: &str) -> Self {
        Response {
            status,
            headers: vec![],
            body: error_body(id, message),
        }
    }
}

fn serve(conn: TcpStream, state: &Mutex<State>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(request) = read_request(&conn) else {
        return;
    };
    let (fault, response) = {
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        st.requests.push(request.clone());
        let line = request.line();
        let fault = st
            .faults
            .iter()
            .position(|(p, _)| p.as_deref().is_none_or(|p| line.starts_with(p)))
            .and_then(|i| st.faults.remove(i))
            .map(|(_, f)| f);
        let response = match &fault {
            Some(Fault::Respond {
                status,
                headers,
                body,
            }) => Response {
                status: *status,
                headers: headers.clone(),
                body: body.clone(),
            },
            // A slow answer is computed after the wait, like a slow server would.
            Some(Fault::Slow(_)) => Response::json(200, Value::Null),
            _ => route(&mut st, &request),
        };
        (fault, response)
    };
    let response = match fault {
        Some(Fault::Slow(d)) => {
            std::thread::sleep(d);
            let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
            route(&mut st, &request)
        }
        _ => response,
    };
    let (body, declared_len) = match fault {
        Some(Fault::Garbage) => {
            let g = "<html><body>Application error</body></html>".to_string();
            let n = g.len();
            return write_response(conn, 200, &response.headers, &g, n);
        }
        Some(Fault::TruncatedJson) => {
            let half = response.body[..response.body.len() / 2].to_string();
            let n = half.len();
            (half, n)
        }
        Some(Fault::ShortBody) => {
            let n = response.body.len();
            (response.body[..n / 2].to_string(), n)
        }
        _ => {
            let n = response.body.len();
            (response.body, n)
        }
    };
    write_response(
        conn,
        response.status,
        &response.headers,
        &body,
        declared_len,
    );
}

fn write_response(
    mut conn: TcpStream,
    status: u16,
    extra: &[(String, String)],
    body: &str,
    declared_len: usize,
) {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
         Content-Length: {declared_len}\r\nConnection: close\r\nRequest-Id: fake-{}\r\n",
        std::process::id()
    );
    if !extra
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("ratelimit-remaining"))
    {
        head.push_str("RateLimit-Remaining: 4500\r\n");
    }
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body.as_bytes());
    let _ = conn.flush();
    let _ = conn.shutdown(std::net::Shutdown::Both);
}

fn read_request(conn: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?;
    let path = target.split('?').next().unwrap_or(target).to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The contract: version header, then bearer auth, then the route.
fn route(st: &mut State, req: &Request) -> Response {
    if req.header("accept") != Some(ACCEPT_V3) {
        return Response::error(400, "bad_request", MSG_NO_VERSION);
    }
    let email = req
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .and_then(|t| st.tokens.get(t.trim()))
        .cloned();
    let Some(email) = email else {
        return Response::error(401, "unauthorized", MSG_UNAUTHORIZED);
    };
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["account"]) => Response::json(
            200,
            json!({
                "id": account_id(&email),
                "email": email,
                "name": null,
                "verified": true,
                "created_at": CREATED_AT,
                "updated_at": CREATED_AT,
            }),
        ),
        ("GET", ["account", "keys"]) => Response::json(
            200,
            Value::Array(
                st.keys
                    .iter()
                    .filter(|k| k.owner == email)
                    .map(FakeKey::to_json)
                    .collect(),
            ),
        ),
        ("POST", ["account", "keys"]) => post_key(st, &email, &req.body),
        (m @ ("GET" | "DELETE"), ["account", "keys", which]) => {
            let which = percent_decode(which);
            let pos = st
                .keys
                .iter()
                .position(|k| k.owner == email && (k.id == which || k.fingerprint == which));
            match pos {
                None => Response::error(404, "not_found", MSG_KEY_NOT_FOUND),
                Some(i) if m == "DELETE" => Response::json(200, st.keys.remove(i).to_json()),
                Some(i) => Response::json(200, st.keys[i].to_json()),
            }
        }
        _ => Response::error(404, "not_found", MSG_ROUTE_NOT_FOUND),
    }
}

fn post_key(st: &mut State, email: &str, body: &str) -> Response {
    let public_key = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        v.get("public_key")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let Some(public_key) = public_key else {
        return Response::error(422, "invalid_params", MSG_INVALID_KEY);
    };
    let Some(key) = st.make_key(email, &public_key) else {
        return Response::error(422, "invalid_params", MSG_INVALID_KEY);
    };
    if let Some(existing) = st.keys.iter().find(|k| k.fingerprint == key.fingerprint) {
        let msg = if existing.owner == email {
            MSG_KEY_ON_ACCOUNT
        } else {
            MSG_KEY_IN_USE
        };
        return Response::error(422, "invalid_params", msg);
    }
    st.keys.push(key.clone());
    Response::json(201, key.to_json())
}

/// A stable account id derived from the email (so the same account always has the same id).
pub fn account_id(email: &str) -> String {
    let d = md5::compute(email.as_bytes()).0;
    let h: String = d.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A real key pair made by `ssh-keygen` (the oracle) in `dir`: returns the private key path
/// and the public key line (without newline).
pub fn ssh_keygen(
    dir: &std::path::Path,
    name: &str,
    kind: &str,
    comment: &str,
) -> (std::path::PathBuf, String) {
    let path = dir.join(name);
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", "", "-C", comment, "-f"])
        .arg(&path)
        .status()
        .expect("run ssh-keygen");
    assert!(status.success(), "ssh-keygen failed");
    let line = std::fs::read_to_string(format!("{}.pub", path.display())).expect("read .pub");
    (path, line.trim_end().to_string())
}

/// `ssh-keygen -l -E ALG -f FILE`'s fingerprint field (`MD5:aa:..` or `SHA256:...`).
pub fn ssh_keygen_fingerprint(pub_file: &std::path::Path, alg: &str) -> String {
    let out = std::process::Command::new("ssh-keygen")
        .args(["-l", "-E", alg, "-f"])
        .arg(pub_file)
        .output()
        .expect("run ssh-keygen -l");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .expect("fingerprint field")
        .to_string()
}
