//! Guarding other apps through real reverse proxies: Debian's nginx (`auth_request`) and
//! Caddy (`forward_auth`) in front of a small app on loopback, with two host names
//! (`app.gh.test`, `admin.gh.test`) given in `Host`. Ignored by a plain
//! `cargo test`; CI installs both and runs these with `--ignored` (a missing proxy fails).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::*;

const DOMAIN: &str = "gh.test";

fn binary(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("`{name}` is not installed (apt-get install -y nginx caddy)");
}

/// Gatehouse for `*.gh.test`, trusting proxies on 127.0.0.1; `admin.gh.test` needs `ops`.
fn gatehouse(dir: &Path, port: u16) -> Killed {
    let db = database_url_in(dir);
    Killed(spawn_server(
        &db,
        dir,
        port,
        &[
            ("ROCKET_TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
            ("ROCKET_PUBLIC_URL", &format!("http://auth.{DOMAIN}:{port}")),
            ("ROCKET_COOKIE_DOMAIN", DOMAIN),
            ("ROCKET_COOKIE_SECURE", "false"),
            (
                "ROCKET_ACCESS_RULES",
                &format!(
                    "[{{host=\"admin.{DOMAIN}\",policy=\"signed_in\",groups=[\"ops\"]}},\
                     {{host=\"app.{DOMAIN}\",path=\"/admin/*\",policy=\"deny\"}},\
                     {{host=\"app.{DOMAIN}\",path=\"/public/*\",policy=\"allow\"}}]"
                ),
            ),
            ("ROCKET_ADDRESS_FAILURES", "1000"),
        ],
    ))
}

fn nginx(dir: &Path, port: u16, gatehouse: u16, upstream: u16) -> Killed {
    let d = dir.display();
    // One server per app, as docs/deployment.md shows: `$server_name` is the app's name.
    let site = |name: &str| {
        format!(
            r#"  server {{
    listen 127.0.0.1:{port};
    server_name {name}.{DOMAIN};
    location = /_gatehouse {{
      internal;
      proxy_pass http://127.0.0.1:{gatehouse}/auth/nginx;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$server_name:$server_port$request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-For $remote_addr;
    }}
    location / {{
      auth_request /_gatehouse;
      auth_request_set $gh_user $upstream_http_remote_user;
      auth_request_set $gh_groups $upstream_http_remote_groups;
      auth_request_set $gh_cookie $upstream_http_set_cookie;
      auth_request_set $gh_location $upstream_http_location;
      add_header Set-Cookie $gh_cookie;
      proxy_set_header Remote-User $gh_user;
      proxy_set_header Remote-Groups $gh_groups;
      proxy_set_header Cookie $gh_app_cookie;
      proxy_pass http://127.0.0.1:{upstream};
      error_page 401 = @gatehouse_sign_in;
    }}
    location @gatehouse_sign_in {{ return 302 $gh_location; }}
  }}
"#
        )
    };
    let (app_site, admin_site) = (site("app"), site("admin"));
    let conf = format!(
        r#"daemon off; master_process off; worker_processes 1;
pid {d}/nginx.pid; error_log {d}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  # The app gets every cookie but Gatehouse's refresh token (docs/deployment.md).
  map $http_cookie $gh_app_cookie {{
    default $http_cookie;
    "~^(?<gh_a>.*?)(?:^|;\s*)gatehouse-refresh=[^;]*(?<gh_b>.*)$" "$gh_a$gh_b";
  }}
  client_body_temp_path {d}/nb; proxy_temp_path {d}/np; fastcgi_temp_path {d}/nf;
  uwsgi_temp_path {d}/nu; scgi_temp_path {d}/ns;
  # Names this nginx does not serve reach no app (and no Gatehouse question).
  server {{
    listen 127.0.0.1:{port} default_server;
    return 444;
  }}
{app_site}{admin_site}}}
"#
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(binary("nginx"))
        .args(["-p", &dir.to_string_lossy(), "-c", &path.to_string_lossy()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_port(port, "the proxy listens");
    Killed(child)
}

fn caddy(dir: &Path, port: u16, gatehouse: u16, upstream: u16) -> Killed {
    let d = dir.display();
    let conf = format!(
        r#"{{
  admin off
  auto_https off
  storage file_system {d}/caddy-data
}}
http://app.{DOMAIN}:{port}, http://admin.{DOMAIN}:{port} {{
  bind 127.0.0.1
  forward_auth 127.0.0.1:{gatehouse} {{
    uri /auth/forward
    copy_headers Remote-User Remote-Groups Remote-Role
  }}
  reverse_proxy 127.0.0.1:{upstream} {{
    header_up Cookie "gatehouse-refresh=[^;]*" "gatehouse-refresh="
  }}
}}
"#
    );
    let path = dir.join("Caddyfile");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(binary("caddy"))
        .args([
            "run",
            "--config",
            &path.to_string_lossy(),
            "--adapter",
            "caddyfile",
        ])
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("xdg-data"))
        .env("XDG_CONFIG_HOME", dir.join("xdg-config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port, "the proxy listens");
    Killed(child)
}

/// A browser's cookies for `*.gh.test`, kept by hand.
#[derive(Default, Clone)]
struct Jar(Vec<String>);

impl Jar {
    fn header(&self) -> Vec<(&'static str, String)> {
        if self.0.is_empty() {
            vec![]
        } else {
            vec![("Cookie", self.0.join("; "))]
        }
    }

    fn take(&mut self, r: &RawResp) {
        for (n, v) in &r.headers {
            if !n.eq_ignore_ascii_case("Set-Cookie") {
                continue;
            }
            let pair = v.split(';').next().unwrap_or_default().to_string();
            let name = pair.split('=').next().unwrap_or_default().to_string();
            self.0.retain(|c| !c.starts_with(&format!("{name}=")));
            if !v.contains("Max-Age=0") {
                self.0.push(pair);
            }
        }
    }
}

fn get(port: u16, host: &str, path: &str, jar: &Jar) -> RawResp {
    let mut headers = jar.header();
    headers.push(("Accept", "text/html".into()));
    raw_http(port, None, "GET", path, host, &headers, "")
}

/// Signs in on Gatehouse itself (auth.gh.test) with `rd`; returns the answer.
fn sign_in(gh: u16, jar: &mut Jar, name: &str, rd: &str) -> RawResp {
    let auth = format!("auth.{DOMAIN}:{gh}");
    let page = get(gh, &auth, &format!("/login?rd={}", enc(rd)), jar);
    jar.take(&page);
    let token = csrf_token(&page.body);
    let body = format!(
        "username={name}&password={}&rd={}&csrf_token={token}",
        enc(PASSWORD),
        enc(rd)
    );
    let r = raw_http(gh, None, "POST", "/login", &auth, &jar.header(), &body);
    jar.take(&r);
    r
}

fn create_user(dir: &Path, name: &str) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["create-user", name, "--role", "user", "--password-stdin"])
        .env("ROCKET_DATABASE_URL", database_url_in(dir))
        .env("ROCKET_DATA_DIR", dir)
        .env("ROCKET_BCRYPT_COST", "4")
        .env(
            "ROCKET_JWT_KEYS",
            format!("[{{kid=\"k1\",secret=\"{KEY1_SECRET}\"}}]"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(PASSWORD.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

/// Puts `name` in group `ops`, straight in the database (before it signs in).
fn put_in_ops(dir: &Path, name: &str) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let url = database_url_in(dir);
    let sql = format!(
        "INSERT INTO groups (name, name_key, created_at) VALUES ('ops', 'ops', 1);
         INSERT INTO group_members (group_id, account_id, added_at)
           SELECT g.id, a.id, 1 FROM groups g, accounts a WHERE g.name_key = 'ops' AND a.username_key = '{name}';"
    );
    if url.starts_with("postgres") {
        diesel::PgConnection::establish(&url)
            .unwrap()
            .batch_execute(&sql)
            .unwrap();
    } else {
        diesel::SqliteConnection::establish(&url)
            .unwrap()
            .batch_execute(&sql)
            .unwrap();
    }
}

/// Every flow the issue names, through one proxy listening on `port`.
fn flows_through(proxy: &str, dir: &Path, gh: u16, port: u16) {
    let app = format!("app.{DOMAIN}:{port}");
    let admin = format!("admin.{DOMAIN}:{port}");
    let target = format!("http://{app}/reports?y=2026");
    // Anonymous: sent to sign in, with where to come back to.
    let mut jar = Jar::default();
    let r = get(port, &app, "/reports?y=2026", &jar);
    assert_eq!(r.status, 302, "{proxy}: {r:?}");
    assert_eq!(
        r.header("Location"),
        Some(
            format!(
                "http://auth.{DOMAIN}:{gh}/login?rd={}",
                gatehouse::text::query_value(&target)
            )
            .as_str()
        ),
        "{proxy}"
    );
    // An open path: the app is told nobody is signed in (empty, never a placeholder).
    let r = get(port, &app, "/public/logo.png", &jar);
    assert_eq!(r.status, 200, "{proxy}: {r:?}");
    assert!(r.body.contains("user=; groups=;"), "{proxy}: {}", r.body);
    // A name the proxy does not serve reaches no app, whatever the rules say of it.
    for host in [
        format!("nothing.{DOMAIN}:{port}"),
        format!("admin.{DOMAIN}.evil:{port}"),
    ] {
        let r = get(port, &host, "/", &jar);
        assert!(!r.body.contains("app says"), "{proxy} {host}: {r:?}");
    }
    // Signing in comes back to it, and the app sees who it is.
    let r = sign_in(gh, &mut jar, "alice", &target);
    assert_eq!(r.status, 303, "{proxy}: {}", r.body);
    assert_eq!(r.header("Location"), Some(target.as_str()));
    assert!(r.cookie("gatehouse-access").is_some(), "{proxy}: {r:?}");
    let r = get(port, &app, "/reports?y=2026", &jar);
    assert_eq!(r.status, 200, "{proxy}: {r:?}");
    assert!(
        r.body.contains("user=alice; groups=;"),
        "{proxy}: {}",
        r.body
    );
    assert!(
        r.body.contains("path=/reports?y=2026"),
        "{proxy}: {}",
        r.body
    );
    // The app receives the access cookie but never the refresh token.
    assert!(
        r.body.contains("gatehouse-access") && !r.body.contains("gatehouse-refresh"),
        "{proxy}: {}",
        r.body
    );
    // A group rule: alice is not in ops.
    assert_eq!(get(port, &admin, "/", &jar).status, 403, "{proxy}");
    // Every spelling of a denied path stays closed (403 from Gatehouse; nginx turns the
    // 400 of a refused target into 500), and the app never answers.
    for spelling in crate::fail_closed::ADMIN_SPELLINGS {
        let r = get(port, &app, spelling, &jar);
        assert!(
            [400, 403, 500].contains(&r.status) && !r.body.contains("user="),
            "{proxy} {spelling}: {r:?}"
        );
    }
    // The same host spelt with a trailing dot, or asked in absolute form with another
    // Host header, is the same host: the app is not reached (the proxy itself may answer
    // first).
    let dotted = format!("admin.{DOMAIN}.:{port}");
    let r = get(port, &dotted, "/", &jar);
    assert!(!r.body.contains("user="), "{proxy} {dotted}: {r:?}");
    let r = get(port, &app, &format!("http://{admin}/"), &jar);
    assert!(!r.body.contains("user="), "{proxy} absolute form: {r:?}");
    let r = get(port, &format!("admin.{DOMAIN}:{port}x"), "/", &jar);
    assert!(!r.body.contains("user="), "{proxy} bad port: {r:?}");
    // Bob is.
    let mut bob = Jar::default();
    assert_eq!(
        sign_in(gh, &mut bob, "bob-ops", &format!("http://{admin}/")).status,
        303
    );
    let r = get(port, &admin, "/", &bob);
    assert_eq!(r.status, 200, "{proxy}: {r:?}");
    assert!(
        r.body.contains("user=bob-ops; groups=ops;"),
        "{proxy}: {}",
        r.body
    );
    // Only the refresh cookie (the access one expired or was dropped): still let in.
    let refresh_only = Jar(jar
        .0
        .iter()
        .filter(|c| c.starts_with("gatehouse-refresh="))
        .cloned()
        .collect());
    let r = get(port, &app, "/", &refresh_only);
    assert_eq!(r.status, 200, "{proxy}: {r:?}");
    // A forged rd to another domain is ignored.
    let auth = format!("auth.{DOMAIN}:{gh}");
    let r = get(
        gh,
        &auth,
        &format!("/login?rd={}", enc("https://evil.test/steal")),
        &jar,
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.header("Location"), Some("/dashboard"));
    // Sign-out on Gatehouse: the very next proxied request is refused.
    let page = get(gh, &auth, "/logout", &jar);
    let token = csrf_token(&page.body);
    let r = raw_http(
        gh,
        None,
        "POST",
        "/logout",
        &auth,
        &jar.header(),
        &format!("csrf_token={token}"),
    );
    assert_eq!(r.status, 303);
    let app_side = jar.clone(); // the cookies a guarded app may still hold
    let r = get(port, &app, "/reports", &app_side);
    assert_eq!(r.status, 302, "{proxy}: signed out everywhere: {r:?}");
    let _ = dir;
}

fn setup() -> (tempfile::TempDir, Killed, u16) {
    let dir = tempfile::tempdir().unwrap();
    let gh = free_port();
    create_user(dir.path(), "alice");
    create_user(dir.path(), "bob-ops");
    put_in_ops(dir.path(), "bob-ops");
    let server = gatehouse(dir.path(), gh);
    (dir, server, gh)
}

#[test]
#[ignore = "needs nginx and caddy (CI installs them and runs this with --ignored)"]
fn through_nginx_auth_request() {
    let (dir, _gatehouse, gh) = setup();
    let upstream = echo_upstream();
    let port = free_port();
    let _nginx = nginx(dir.path(), port, gh, upstream);
    flows_through("nginx", dir.path(), gh, port);
}

#[test]
#[ignore = "needs nginx and caddy (CI installs them and runs this with --ignored)"]
fn through_caddy_forward_auth() {
    let (dir, _gatehouse, gh) = setup();
    let upstream = echo_upstream();
    let port = free_port();
    let _caddy = caddy(dir.path(), port, gh, upstream);
    flows_through("caddy", dir.path(), gh, port);
}

#[test]
#[ignore = "needs nginx and caddy (CI installs them and runs this with --ignored)"]
fn forged_forwarding_headers_from_a_peer_that_is_no_proxy_get_400() {
    let (_dir, _gatehouse, gh) = setup();
    // The same request as a proxy's, but from 127.0.0.3, which is not a trusted proxy.
    let headers = [
        ("X-Forwarded-Method", "GET".to_string()),
        ("X-Forwarded-Proto", "http".to_string()),
        ("X-Forwarded-Host", format!("app.{DOMAIN}")),
        ("X-Forwarded-Uri", "/".to_string()),
    ];
    let forged = raw_http(
        gh,
        Some([127, 0, 0, 3].into()),
        "GET",
        "/auth/forward",
        "x",
        &headers,
        "",
    );
    assert_eq!(forged.status, 400);
    let forged = raw_http(
        gh,
        Some([127, 0, 0, 3].into()),
        "GET",
        "/auth/nginx",
        "x",
        &[("X-Original-URL", format!("http://app.{DOMAIN}/"))],
        "",
    );
    assert_eq!(forged.status, 400);
    // From the trusted proxy address, the same request is answered.
    let proxied = raw_http(gh, None, "GET", "/auth/forward", "x", &headers, "");
    assert_eq!(proxied.status, 401);
}
