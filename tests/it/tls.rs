//! HTTPS without a proxy: the binary serves TLS itself (Rocket's `tls.certs`, `tls.key`)
//! with a certificate made here; a client that verifies it against the test CA signs in;
//! HSTS and `Secure` cookies are there; plain HTTP on the same port gets no page.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use crate::common::*;

fn agent_trusting(ca_pem: Option<&str>) -> ureq::Agent {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let roots = match ca_pem {
        Some(pem) => RootCerts::Specific(Arc::new(vec![
            Certificate::from_pem(pem.as_bytes()).unwrap()
        ])),
        None => RootCerts::WebPki,
    };
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .tls_config(TlsConfig::builder().root_certs(roots).build())
        .build()
        .into()
}

#[test]
fn the_binary_serves_https_itself_and_nothing_over_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let cert = test_certificate(&["localhost"]);
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, &cert.cert_pem).unwrap();
    std::fs::write(&key_file, &cert.key_pem).unwrap();
    let db = database_url_in(dir.path());
    let create = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["create-user", "alice", "--role", "user", "--password-stdin"])
        .env("ROCKET_DATABASE_URL", &db)
        .env("ROCKET_DATA_DIR", dir.path())
        .env("ROCKET_BCRYPT_COST", "4")
        .env(
            "ROCKET_JWT_KEYS",
            format!("[{{kid=\"k1\",secret=\"{KEY1_SECRET}\"}}]"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(PASSWORD.as_bytes())?;
            c.wait()
        })
        .unwrap();
    assert!(create.success());
    let port = free_port();
    let tls = format!(
        "{{certs=\"{}\",key=\"{}\"}}",
        cert_file.display(),
        key_file.display()
    );
    let _server = Killed(spawn_server(&db, dir.path(), port, &[("ROCKET_TLS", &tls)]));
    let base = format!("https://localhost:{port}");
    let agent = agent_trusting(Some(&cert.ca_pem));

    let mut login = agent.get(&format!("{base}/login")).call().unwrap();
    assert_eq!(login.status(), 200);
    let hsts = login.headers()["strict-transport-security"]
        .to_str()
        .unwrap();
    assert!(hsts.contains("max-age="), "{hsts}");
    let presession = set_cookies(&login);
    assert!(!presession.is_empty());
    assert!(
        presession.iter().all(|c| c.contains("; Secure")),
        "{presession:?}"
    );
    let token = csrf_token(&login.body_mut().read_to_string().unwrap());
    let signed_in = agent
        .post(&format!("{base}/login"))
        .header("Cookie", &cookie_header(&presession))
        .header("Origin", &base)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(format!(
            "username=alice&password={}&csrf_token={token}",
            enc(PASSWORD)
        ))
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let session = set_cookies(&signed_in);
    for name in ["__Host-access=", "__Host-refresh="] {
        let c = session
            .iter()
            .find(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {session:?}"));
        assert!(c.contains("; Secure") && c.contains("; HttpOnly"), "{c}");
    }
    let dashboard = agent
        .get(&format!("{base}/dashboard"))
        .header("Cookie", &cookie_header(&session))
        .call()
        .unwrap();
    assert_eq!(dashboard.status(), 200);

    // A client that does not trust the test CA refuses the connection.
    assert!(agent_trusting(None)
        .get(&format!("{base}/healthz"))
        .call()
        .is_err());

    // Plain HTTP to the same port: no page, whatever comes back.
    let mut plain = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    plain
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        !answer.contains("<html") && !answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
}
