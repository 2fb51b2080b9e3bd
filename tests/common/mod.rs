//! A test app on a fresh temp SQLite file, and helpers to drive it like a browser.
#![allow(dead_code)]

use gatehouse::accounts::Role;
use gatehouse::App;
use rocket::figment::Figment;
use rocket::http::{ContentType, Header, Status};
use rocket::local::blocking::{Client, LocalResponse};
use std::cell::RefCell;
use std::collections::BTreeMap;
use tempfile::TempDir;

/// base64 of 32 bytes 0x01 and 0x02: the test keys, so tests can forge tokens.
pub const KEY1_SECRET: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
pub const KEY2_SECRET: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub client: Client,
    pub dir: TempDir,
}

/// The database for a test folder: a SQLite file inside it, or, when
/// `GATEHOUSE_TEST_DATABASE_URL` names a PostgreSQL server, a database of its own on it
/// (named after the folder, so two apps on one folder share it).
pub fn database_url(dir: &TempDir) -> String {
    database_url_in(dir.path())
}

/// As `database_url`, for a folder given by path.
pub fn database_url_in(dir: &std::path::Path) -> String {
    match std::env::var("GATEHOUSE_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => postgres_database(&base, dir),
        _ => dir.join("test.sqlite").to_string_lossy().to_string(),
    }
}

pub fn on_postgres() -> bool {
    std::env::var("GATEHOUSE_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

fn postgres_database(base: &str, dir: &std::path::Path) -> String {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut h);
    let name = format!("gh_t_{:016x}", h.finish());
    // Before the first PostgreSQL connection, as the app does (see `init_tls`).
    gatehouse::db::init_tls();
    let mut admin =
        diesel::PgConnection::establish(base).expect("GATEHOUSE_TEST_DATABASE_URL is reachable");
    // CREATE DATABASE has no IF NOT EXISTS; a second app on the same folder finds it.
    let _ = admin.batch_execute(&format!("CREATE DATABASE {name}"));
    let (prefix, _) = base
        .rsplit_once('/')
        .expect("a PostgreSQL URL with a database name");
    format!("{prefix}/{name}")
}

pub fn figment(dir: &TempDir) -> Figment {
    figment_in(dir.path())
}

/// As `figment`, for a folder given by path.
pub fn figment_in(dir: &std::path::Path) -> Figment {
    figment_with_url(dir, &database_url_in(dir))
}

/// As `figment_in`, on a database that already exists.
pub fn figment_with_url(dir: &std::path::Path, database_url: &str) -> Figment {
    gatehouse::figment()
        .merge(("database_url", database_url))
        .merge(("data_dir", dir.to_string_lossy().to_string()))
        .merge(("bcrypt_cost", 4))
        .merge(("log_level", "off"))
        .merge((
            "jwt_keys",
            vec![serde_json::json!({ "kid": "k1", "secret": KEY1_SECRET })],
        ))
        .merge(("encryption_key", KEY2_SECRET))
        // Tests of the second factor ask for it; the rest sign in with a password alone.
        .merge(("require_2fa", "none"))
}

pub fn app() -> TestApp {
    app_with(|f| f)
}

pub fn app_with(configure: impl FnOnce(Figment) -> Figment) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let client =
        Client::untracked(gatehouse::rocket(configure(figment(&dir)))).expect("valid rocket");
    TestApp { client, dir }
}

impl TestApp {
    pub fn state(&self) -> &App {
        self.client.rocket().state::<App>().expect("app state")
    }

    pub fn create_user(&self, name: &str, role: Role) -> i64 {
        self.state()
            .create_user(name, role, PASSWORD)
            .expect("create user")
            .id
    }

    pub fn browser(&self) -> Browser<'_> {
        Browser::new(&self.client)
    }

    /// Creates a user and signs in with a new browser.
    pub fn signed_in(&self, name: &str, role: Role) -> (i64, Browser<'_>) {
        let id = self.create_user(name, role);
        let b = self.browser();
        let r = b.login(name, PASSWORD, false);
        assert_eq!(
            r.status,
            Status::SeeOther,
            "sign-in of {name} failed: {}",
            r.body
        );
        (id, b)
    }

    pub fn audit_kinds(&self, kind: &str) -> Vec<gatehouse::audit::AuditRow> {
        let kind = kind.to_string();
        self.state()
            .db()
            .run_blocking(move |c| gatehouse::audit::search(c, None, Some(&kind), None, 100))
            .expect("audit query")
            .0
    }
}

pub fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("page has a csrf_token field") + marker.len();
    let end = html[start..].find('"').expect("end of token") + start;
    html[start..end].to_string()
}

pub fn enc(s: &str) -> String {
    rocket::http::RawStr::new(s).percent_encode().to_string()
}

/// A response read in full.
#[derive(Debug)]
pub struct Resp {
    pub status: Status,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    fn read(r: LocalResponse<'_>) -> Resp {
        let status = r.status();
        let headers = r
            .headers()
            .iter()
            .map(|h| (h.name().to_string(), h.value().to_string()))
            .collect();
        let body = r.into_string().unwrap_or_default();
        Resp {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn location(&self) -> &str {
        self.header("Location").unwrap_or("")
    }

    /// Every `Set-Cookie` value for `name`.
    pub fn set_cookies(&self, name: &str) -> Vec<&str> {
        let prefix = format!("{name}=");
        self.headers
            .iter()
            .filter(|(n, v)| n.eq_ignore_ascii_case("Set-Cookie") && v.starts_with(&prefix))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Whether this response tells the browser to drop `name`.
    pub fn clears(&self, name: &str) -> bool {
        self.set_cookies(name)
            .iter()
            .any(|c| c.contains("Max-Age=0"))
    }

    pub fn is_login_redirect(&self) -> bool {
        self.status == Status::SeeOther && self.location().starts_with("/login")
    }
}

/// A browser: a cookie jar that follows `Set-Cookie`, plus extra headers.
pub struct Browser<'c> {
    pub client: &'c Client,
    pub jar: RefCell<BTreeMap<String, String>>,
    pub headers: Vec<Header<'static>>,
}

impl<'c> Browser<'c> {
    /// A new browser with no cookies.
    pub fn new(client: &'c Client) -> Browser<'c> {
        Browser {
            client,
            jar: RefCell::new(BTreeMap::new()),
            headers: Vec::new(),
        }
    }

    /// Another browser with a copy of this one's cookies (a stolen cookie jar, a second tab).
    pub fn copy(&self) -> Browser<'c> {
        self.on(self.client)
    }

    /// The same cookies in a browser talking to another instance (behind a load balancer).
    pub fn on<'d>(&self, client: &'d Client) -> Browser<'d> {
        Browser {
            client,
            jar: RefCell::new(self.jar.borrow().clone()),
            headers: self.headers.clone(),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.borrow().get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar
            .borrow_mut()
            .insert(name.to_string(), value.to_string());
    }

    pub fn drop_cookie(&self, name: &str) {
        self.jar.borrow_mut().remove(name);
    }

    fn send(&self, mut req: rocket::local::blocking::LocalRequest<'c>) -> Resp {
        for (n, v) in self.jar.borrow().iter() {
            req = req.cookie(rocket::http::Cookie::new(n.clone(), v.clone()));
        }
        for h in &self.headers {
            req = req.header(h.clone());
        }
        let resp = Resp::read(req.dispatch());
        let mut jar = self.jar.borrow_mut();
        for (n, v) in &resp.headers {
            if !n.eq_ignore_ascii_case("Set-Cookie") {
                continue;
            }
            if let Ok(c) = rocket::http::Cookie::parse(v.clone()) {
                if c.max_age() == Some(rocket::time::Duration::ZERO) {
                    jar.remove(c.name());
                } else {
                    jar.insert(c.name().to_string(), c.value().to_string());
                }
            }
        }
        resp
    }

    pub fn get(&self, path: &str) -> Resp {
        self.send(self.client.get(path.to_string()))
    }

    pub fn post(&self, path: &str, body: &str) -> Resp {
        self.send(
            self.client
                .post(path.to_string())
                .header(ContentType::Form)
                .body(body),
        )
    }

    pub fn post_with(&self, path: &str, body: &str, header: Header<'static>) -> Resp {
        self.send(
            self.client
                .post(path.to_string())
                .header(ContentType::Form)
                .header(header)
                .body(body),
        )
    }

    /// The CSRF token from the form on `path`.
    pub fn token(&self, path: &str) -> String {
        csrf_token(&self.get(path).body)
    }

    /// Signs in through the form.
    pub fn login(&self, name: &str, password: &str, remember: bool) -> Resp {
        let token = self.token("/login");
        let mut body = format!(
            "username={}&password={}&csrf_token={}",
            enc(name),
            enc(password),
            token
        );
        if remember {
            body.push_str("&remember=true");
        }
        self.post("/login", &body)
    }
}

pub fn origin(value: &str) -> Header<'static> {
    Header::new("Origin", value.to_string())
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the real binary (`gatehouse serve`) on `port` with test settings plus `extra`,
/// and waits until it accepts connections.
pub fn spawn_server(
    db: &str,
    data: &std::path::Path,
    port: u16,
    extra: &[(&str, &str)],
) -> std::process::Child {
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ROCKET_DATABASE_URL", db)
        .env("ROCKET_DATA_DIR", data)
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_BCRYPT_COST", "4")
        .env("ROCKET_LOG_LEVEL", "off")
        .env("ROCKET_REQUIRE_2FA", "none")
        .env(
            "ROCKET_JWT_KEYS",
            format!("[{{kid=\"k1\",secret=\"{KEY1_SECRET}\"}}]"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("the binary runs");
    wait_for_port(port, "the server starts");
    child
}

/// An HTTP client for servers run as processes: no redirects followed, every status
/// returned as a response (not an error).
pub fn http_agent(timeout: std::time::Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// A response of the asynchronous client, read in full.
pub struct AsyncResp {
    pub status: Status,
    pub location: String,
    pub cookies: Vec<rocket::http::Cookie<'static>>,
    pub body: String,
}

/// The pre-session cookie and form token of a page, for forms posted concurrently.
pub async fn async_form(
    client: &rocket::local::asynchronous::Client,
    path: &str,
) -> (rocket::http::Cookie<'static>, String) {
    let page = client.get(path.to_string()).dispatch().await;
    let cookie = page
        .cookies()
        .get("__Host-presession")
        .expect("a pre-session cookie")
        .clone();
    let token = csrf_token(&page.into_string().await.unwrap_or_default());
    (cookie, token)
}

/// A form POST with the given cookies through the asynchronous client.
pub async fn async_post(
    client: &rocket::local::asynchronous::Client,
    path: &str,
    body: String,
    cookies: Vec<rocket::http::Cookie<'static>>,
) -> AsyncResp {
    let r = client
        .post(path.to_string())
        .header(ContentType::Form)
        .cookies(cookies)
        .body(body)
        .dispatch()
        .await;
    let status = r.status();
    let location = r
        .headers()
        .get_one("Location")
        .unwrap_or_default()
        .to_string();
    let cookies = r.cookies().iter().map(|c| c.clone().into_owned()).collect();
    AsyncResp {
        status,
        location,
        cookies,
        body: r.into_string().await.unwrap_or_default(),
    }
}

/// Runs `f` on a fresh app (configured by `configure`) driven by the asynchronous client,
/// so that a test can release many requests together.
pub fn with_async_app<F, Fut>(configure: impl FnOnce(Figment) -> Figment, f: F)
where
    F: FnOnce(rocket::local::asynchronous::Client, TempDir) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let figment = configure(figment(&dir));
    rocket::execute(async move {
        let client = rocket::local::asynchronous::Client::untracked(gatehouse::rocket(figment))
            .await
            .expect("valid rocket");
        f(client, dir).await;
    });
}

/// The app behind an asynchronous client.
pub fn async_state(client: &rocket::local::asynchronous::Client) -> &App {
    client.rocket().state::<App>().expect("app state")
}

/// A response read off a socket.
#[derive(Debug)]
pub struct RawResp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `name=value` of every `Set-Cookie` for `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("Set-Cookie"))
            .map(|(_, v)| v.split(';').next().unwrap_or_default())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(String::from)
    }
}

/// One HTTP/1.1 request over a fresh connection to `port` on loopback, from `from` (a
/// loopback address of the caller's choice, to play a client that is not a trusted
/// proxy), with the `Host` and other headers given.
pub fn raw_http(
    port: u16,
    from: Option<std::net::Ipv4Addr>,
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, String)],
    body: &str,
) -> RawResp {
    use std::io::{Read, Write};
    let target = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream: std::net::TcpStream = match from {
        Some(ip) => {
            let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
                .expect("socket");
            socket
                .bind(&std::net::SocketAddr::from((ip, 0)).into())
                .expect("bind a loopback address");
            socket.connect(&target.into()).expect("connect");
            socket.into()
        }
        None => std::net::TcpStream::connect(target).expect("connect"),
    };
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    RawResp {
        status,
        headers,
        body: body.to_string(),
    }
}

/// A tiny app behind the proxies: answers every request with what it was told about
/// the person (`Remote-User`, `Remote-Groups`), where it was asked, and the names of the
/// cookies it received with a value.
pub fn echo_upstream() -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                let (mut user, mut groups, mut host, mut cookies) =
                    (String::new(), String::new(), String::new(), Vec::new());
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    if let Some((n, v)) = line.split_once(':') {
                        match n.trim().to_ascii_lowercase().as_str() {
                            "remote-user" => user = v.trim().to_string(),
                            "remote-groups" => groups = v.trim().to_string(),
                            "host" => host = v.trim().to_string(),
                            "cookie" => cookies.extend(
                                v.split(';')
                                    .filter_map(|c| c.split_once('='))
                                    .filter(|(_, v)| !v.trim().is_empty())
                                    .map(|(n, _)| n.trim().to_string())
                                    .filter(|n| !n.is_empty()),
                            ),
                            _ => {}
                        }
                    }
                }
                let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
                let cookies = cookies.join(",");
                let body = format!(
                    "app says: user={user}; groups={groups}; host={host}; path={path}; cookies={cookies}\n"
                );
                let mut out = stream;
                let _ = out.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            });
        }
    });
    port
}

/// A certificate for `names`, signed by a fresh test CA (PEM).
pub struct TestCertificate {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

pub fn test_certificate(names: &[&str]) -> TestCertificate {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Gatehouse test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
    TestCertificate {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// A real SMTP server (Python's aiosmtpd, from `GATEHOUSE_TEST_PYTHON`) on loopback,
/// keeping what it receives in a Maildir. `None` when no such Python is configured.
pub struct SmtpServer {
    child: std::process::Child,
    pub port: u16,
    pub maildir: TempDir,
}

pub fn test_python() -> Option<std::ffi::OsString> {
    std::env::var_os("GATEHOUSE_TEST_PYTHON").filter(|p| !p.is_empty())
}

impl SmtpServer {
    /// Starts on `port`; `tls` is `("--tlscert"/"--smtpscert", certificate)` to offer
    /// STARTTLS (required) or implicit TLS.
    pub fn start_on(port: u16, tls: Option<(&str, &TestCertificate)>) -> Option<SmtpServer> {
        let python = test_python()?;
        let maildir = tempfile::tempdir().unwrap();
        let mut cmd = std::process::Command::new(python);
        cmd.args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some((flag, cert)) = tls {
            let (c, k) = (
                maildir.path().join("cert.pem"),
                maildir.path().join("key.pem"),
            );
            std::fs::write(&c, &cert.cert_pem).unwrap();
            std::fs::write(&k, &cert.key_pem).unwrap();
            let key_flag = flag.replace("cert", "key");
            cmd.arg(flag).arg(&c).arg(key_flag).arg(&k);
        }
        cmd.arg(maildir.path().join("box"));
        let child = cmd.spawn().expect("aiosmtpd runs");
        wait_for_port(
            port,
            "aiosmtpd starts (is it installed in GATEHOUSE_TEST_PYTHON?)",
        );
        Some(SmtpServer {
            child,
            port,
            maildir,
        })
    }

    pub fn start() -> Option<SmtpServer> {
        Self::start_on(free_port(), None)
    }

    /// Every message received so far, raw.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.path().join("box").join(sub)) {
                let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
                files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
                out.extend(files.into_iter().filter_map(|p| std::fs::read(p).ok()));
            }
        }
        out
    }

    /// Waits until `n` messages have arrived, and returns them.
    pub fn wait_for(&self, n: usize) -> Vec<Vec<u8>> {
        wait_until(&format!("{n} messages arrive"), || {
            self.messages().len() >= n
        });
        self.messages()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How often the waiting helpers look again.
const POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// How long until `done` holds, polling; fails the test naming `what` after `limit`.
pub fn within(
    what: &str,
    limit: std::time::Duration,
    mut done: impl FnMut() -> bool,
) -> std::time::Duration {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(POLL);
    }
    start.elapsed()
}

/// Whether `done` comes to hold within `limit`, polling: for a test that must clean up
/// (stop a server it started) before it asserts.
pub fn comes_true(limit: std::time::Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    loop {
        if done() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Checks that `holds` stays true for all of `period`, polling, and fails the test naming
/// `what` the moment it does not: for something that must *not* happen (a mail sent
/// before it is due, a second copy), instead of a fixed sleep and one look at the end.
pub fn stays(what: &str, period: std::time::Duration, mut holds: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    loop {
        assert!(holds(), "{what}");
        let left = period.saturating_sub(start.elapsed());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(POLL));
    }
}

/// `within` for async tests: polls the future `done` makes (a query through the pool,
/// a look at the hashing queue) without blocking the runtime, so that the test's other
/// futures run meanwhile.
pub async fn within_async<F, Fut>(what: &str, limit: std::time::Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        rocket::tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Waits (up to 30 s) until `done` holds: for work that finishes on another thread or in
/// another process (a server starting, mail marked sent after it arrived).
pub fn wait_until(what: &str, done: impl FnMut() -> bool) {
    within(what, std::time::Duration::from_secs(30), done);
}

/// Waits until something listens on the loopback `port`.
pub fn wait_for_port(port: u16, what: &str) {
    wait_until(what, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

/// A child process killed (and reaped) when dropped, even when the test fails.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `Set-Cookie` headers of a response from a server run as a process.
pub fn set_cookies(r: &ureq::http::Response<ureq::Body>) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(String::from)
        .collect()
}

/// A `Cookie` header with what `Set-Cookie` headers set (cleared cookies left out).
pub fn cookie_header(set_cookies: &[String]) -> String {
    set_cookies
        .iter()
        .filter_map(|c| c.split(';').next())
        .filter(|c| !c.ends_with('='))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Makes account `id` change its password at its next sign-in (as an administrator's
/// reset does), straight in the database.
pub fn force_password_change(app: &App, id: i64) {
    use diesel::prelude::*;
    use gatehouse::db::schema::accounts;
    app.db()
        .run_blocking(move |c| {
            diesel::update(accounts::table.find(id))
                .set(accounts::must_change_password.eq(true))
                .execute(c)?;
            Ok(())
        })
        .expect("set must_change_password");
}

/// Sets the stored language of account `id` (what its owner chose for its mail).
pub fn set_stored_language(app: &App, id: i64, lang: &'static str) {
    use diesel::prelude::*;
    use gatehouse::db::schema::accounts;
    app.db()
        .run_blocking(move |c| {
            diesel::update(accounts::table.find(id))
                .set(accounts::lang.eq(lang))
                .execute(c)?;
            Ok(())
        })
        .expect("set the stored language");
}

/// Signs `name` in over a real socket (`raw_http`) as a browser would: the sign-in page's
/// pre-session cookie (named `presession`) and form token, then the form. Returns the
/// answer to the form.
pub fn raw_sign_in(port: u16, host: &str, presession: &str, name: &str) -> RawResp {
    let page = raw_http(port, None, "GET", "/login", host, &[], "");
    let pre = page.cookie(presession).expect("a pre-session cookie");
    let body = format!(
        "username={name}&password={}&csrf_token={}",
        enc(PASSWORD),
        csrf_token(&page.body)
    );
    raw_http(
        port,
        None,
        "POST",
        "/login",
        host,
        &[("Cookie", pre)],
        &body,
    )
}

/// A sign-in form body.
pub fn login_body(name: &str, password: &str, token: &str) -> String {
    format!(
        "username={}&password={}&csrf_token={token}",
        enc(name),
        enc(password)
    )
}

/// Signs `name` in through the asynchronous client; returns the cookies a browser keeps.
pub async fn async_sign_in(
    client: &rocket::local::asynchronous::Client,
    name: &str,
) -> Vec<rocket::http::Cookie<'static>> {
    let (cookie, token) = async_form(client, "/login").await;
    let r = async_post(
        client,
        "/login",
        login_body(name, PASSWORD, &token),
        vec![cookie],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "sign-in of {name}");
    r.cookies
}

/// How many live sessions account `id` has.
pub fn live_sessions(app: &TestApp, id: i64) -> usize {
    let now = app.state().now();
    app.state()
        .db()
        .run_blocking(move |c| gatehouse::sessions::store::live_for_account(c, id, now))
        .unwrap()
        .len()
}
