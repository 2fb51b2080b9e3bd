//! Slow and greedy clients against the real binary (issue 19): a request head that never
//! ends or trickles in, a body that stops, and an idle keep-alive connection are closed
//! (after `header_timeout` / `keep_alive`, short here); one address cannot hold more than
//! `max_connections_per_address` connections (a trusted proxy is not capped) while others
//! are still served; the same over HTTPS. Waiting uses `within` (an event with a generous bound, not a timing assertion).
//! Multipart and oversized forms are refused before anything changes.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use crate::common::*;
use gatehouse::accounts::Role;
use rocket::http::{ContentType, Status};

/// Generous bound for a close that the server should make after about a second.
const CLOSED_WITHIN: Duration = Duration::from_secs(6);

fn connect(port: u16, from: Option<Ipv4Addr>) -> TcpStream {
    let target = SocketAddr::from(([127, 0, 0, 1], port));
    let stream: TcpStream = match from {
        Some(ip) => {
            let socket =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            socket.bind(&SocketAddr::from((ip, 0)).into()).unwrap();
            socket.connect(&target.into()).unwrap();
            socket.into()
        }
        None => TcpStream::connect(target).unwrap(),
    };
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    stream
}

/// Whether the server has closed `stream` (whatever it sent first is read and dropped).
fn closed(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true, // reset
        }
    }
}

/// Reads one response with a `Content-Length` off a keep-alive connection: its status.
fn read_response(stream: &mut TcpStream) -> u16 {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let start = std::time::Instant::now();
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            if raw.len() >= end + 4 + length {
                return head.split_whitespace().nth(1).unwrap().parse().unwrap();
            }
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no response");
        match stream.read(&mut buf) {
            Ok(0) => panic!("closed before a whole response: {raw:?}"),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

fn server(dir: &tempfile::TempDir, extra: &[(&str, &str)]) -> (Killed, u16) {
    let port = free_port();
    let db = database_url_in(dir.path());
    (Killed(spawn_server(&db, dir.path(), port, extra)), port)
}

const SHORT: &[(&str, &str)] = &[("ROCKET_HEADER_TIMEOUT", "1"), ("ROCKET_KEEP_ALIVE", "1")];

#[test]
fn a_head_that_never_ends_or_trickles_is_cut_after_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = server(&dir, SHORT);

    // Connected, nothing sent.
    let mut silent = connect(port, None);
    // Half a head, then nothing.
    let mut half = connect(port, None);
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    within("a silent connection is closed", CLOSED_WITHIN, || {
        closed(&mut silent)
    });
    within("a head that never ends is closed", CLOSED_WITHIN, || {
        closed(&mut half)
    });

    // A head that gets a byte every 200 ms never completes within the timeout.
    let mut trickle = connect(port, None);
    let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut sent = 0;
    within("a trickling head is closed", CLOSED_WITHIN, || {
        if sent < head.len() {
            let _ = trickle.write_all(&head[sent..sent + 1]);
            sent += 1;
            std::thread::sleep(Duration::from_millis(150));
        }
        closed(&mut trickle)
    });
    assert!(sent < head.len(), "the whole head went through");

    // Others are still served.
    let r = raw_http(port, None, "GET", "/healthz", "x", &[], "");
    assert_eq!(r.status, 200);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_keep_alive() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = server(&dir, SHORT);
    let mut conn = connect(port, None);
    for _ in 0..2 {
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert_eq!(read_response(&mut conn), 200);
    }
    within(
        "an idle keep-alive connection is closed",
        CLOSED_WITHIN,
        || closed(&mut conn),
    );
}

#[test]
fn a_body_that_stops_is_cut_after_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = server(&dir, SHORT);
    // A pre-session cookie, so that the body is worth reading.
    let page = raw_http(port, None, "GET", "/login", "x", &[], "");
    let cookies: Vec<String> = page
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.split(';').next().unwrap().to_string())
        .collect();
    assert!(!cookies.is_empty());
    let mut conn = connect(port, None);
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: x\r\nCookie: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n\
         username=alice&password=",
        cookies.join("; ")
    );
    conn.write_all(head.as_bytes()).unwrap();
    within("a stalled body is cut off", CLOSED_WITHIN, || {
        closed(&mut conn)
    });
}

#[test]
fn one_address_cannot_hold_more_than_its_cap_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    // Default timeouts (10 s): the held connections stay for the whole test.
    let (_server, port) = server(
        &dir,
        &[
            ("ROCKET_MAX_CONNECTIONS_PER_ADDRESS", "3"),
            ("ROCKET_TRUSTED_PROXIES", "[\"127.0.0.0/31\"]"),
        ],
    );
    let greedy = Ipv4Addr::new(127, 0, 0, 2);
    let mut held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut c = connect(port, Some(greedy));
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            assert_eq!(read_response(&mut c), 200);
            c
        })
        .collect();
    // The fourth from the same address is closed unserved.
    let mut fourth = connect(port, Some(greedy));
    let _ = fourth.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    within(
        "the connection over the cap is closed",
        CLOSED_WITHIN,
        || closed(&mut fourth),
    );
    // Another address is served meanwhile.
    let other = raw_http(
        port,
        Some(Ipv4Addr::new(127, 0, 0, 3)),
        "GET",
        "/healthz",
        "x",
        &[],
        "",
    );
    assert_eq!(other.status, 200);
    // A trusted proxy carries many clients: it is not capped.
    let proxy = Ipv4Addr::new(127, 0, 0, 1);
    let through_proxy: Vec<TcpStream> = (0..5)
        .map(|_| {
            let mut c = connect(port, Some(proxy));
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            assert_eq!(read_response(&mut c), 200);
            c
        })
        .collect();
    drop(through_proxy);
    // A held connection is still usable, and once one closes its place is free again.
    held[0]
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut held[0]), 200);
    drop(held.pop());
    wait_until("the freed place is given to a new connection", || {
        let mut c = connect(port, Some(greedy));
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .is_ok()
            && {
                let mut out = String::new();
                let _ = c.read_to_string(&mut out);
                out.starts_with("HTTP/1.1 200")
            }
    });
}

#[test]
fn over_https_a_silent_or_half_handshake_is_cut_and_the_cap_holds() {
    let dir = tempfile::tempdir().unwrap();
    let cert = test_certificate(&["localhost"]);
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, &cert.cert_pem).unwrap();
    std::fs::write(&key_file, &cert.key_pem).unwrap();
    let tls = format!(
        "{{certs=\"{}\",key=\"{}\"}}",
        cert_file.display(),
        key_file.display()
    );
    let (_server, port) = server(
        &dir,
        &[
            ("ROCKET_TLS", &tls),
            ("ROCKET_HEADER_TIMEOUT", "1"),
            ("ROCKET_MAX_CONNECTIONS_PER_ADDRESS", "2"),
        ],
    );
    let greedy = Ipv4Addr::new(127, 0, 0, 4);
    let mut silent = connect(port, Some(greedy));
    // The first bytes of a TLS ClientHello, then nothing.
    let mut half = connect(port, Some(greedy));
    half.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();
    // Over the cap of two.
    let mut third = connect(port, Some(greedy));
    within("the third TLS connection is closed", CLOSED_WITHIN, || {
        closed(&mut third)
    });
    within("a silent TLS connection is closed", CLOSED_WITHIN, || {
        closed(&mut silent)
    });
    within("a half handshake is closed", CLOSED_WITHIN, || {
        closed(&mut half)
    });
    // HTTPS still works.
    use std::sync::Arc;
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let roots = RootCerts::Specific(Arc::new(vec![Certificate::from_pem(
        cert.ca_pem.as_bytes(),
    )
    .unwrap()]));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .tls_config(TlsConfig::builder().root_certs(roots).build())
        .build()
        .into();
    let r = agent
        .get(&format!("https://localhost:{port}/healthz"))
        .call()
        .unwrap();
    assert_eq!(r.status(), 200);
}

fn multipart(fields: &[(&str, &str)]) -> (ContentType, String) {
    let boundary = "gatehouseboundary";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        ContentType::new("multipart", "form-data").with_params(("boundary", boundary)),
        body,
    )
}

/// A POST with the browser's cookies and the given body type.
fn send_multipart<'c>(
    b: &Browser<'c>,
    path: &str,
    ct: ContentType,
    body: String,
) -> rocket::local::blocking::LocalResponse<'c> {
    let mut req = b.client.post(path.to_string()).header(ct).body(body);
    for (n, v) in b.jar.borrow().iter() {
        req = req.cookie(rocket::http::Cookie::new(n.clone(), v.clone()));
    }
    req.dispatch()
}

#[test]
fn multipart_forms_get_415_and_change_nothing() {
    let app = app();
    let (_, admin) = app.signed_in("root", Role::Admin);
    let token = admin.token("/admin/users/new");
    let (ct, body) = multipart(&[
        ("username", "mallory"),
        ("role", "user"),
        ("password", "a perfectly long password 42"),
        ("email", ""),
        ("csrf_token", &token),
    ]);
    let r = send_multipart(&admin, "/admin/users/new", ct, body);
    assert_eq!(r.status(), Status::UnsupportedMediaType);
    let page = r.into_string().unwrap();
    assert!(page.contains("multipart"), "{page}");
    let found = app
        .state()
        .db()
        .run_blocking(|c| gatehouse::accounts::find_by_username(c, "mallory"))
        .unwrap();
    assert!(found.is_none(), "no account was made");

    // The sign-in form too, before any password is checked.
    let b = app.browser();
    let token = b.token("/login");
    let (ct, body) = multipart(&[
        ("username", "root"),
        ("password", PASSWORD),
        ("csrf_token", &token),
    ]);
    let r = send_multipart(&b, "/login", ct, body);
    assert_eq!(r.status(), Status::UnsupportedMediaType);
}

#[test]
fn a_form_over_the_small_limit_gets_413_and_a_real_one_fits() {
    let app = app();
    app.create_user("alice", Role::User);
    let b = app.browser();
    let token = b.token("/login");
    // 17 KiB: accepted under the old 32 KiB limit, over the new 16 KiB one.
    let body = format!(
        "username=alice&password={}&csrf_token={token}",
        "a".repeat(17 * 1024)
    );
    let r = b.post("/login", &body);
    assert_eq!(r.status, Status::PayloadTooLarge);
    assert!(r.body.contains("Request too large"));

    // The largest real form: sign-in with an `rd` of 4,096 bytes, every byte encoded.
    let rd = format!("https://app.example/{}", "%".repeat(4096 - 20));
    let body = format!(
        "username=alice&password={}&remember=true&rd={}&csrf_token={token}",
        enc(PASSWORD),
        enc(&rd)
    );
    assert!(body.len() > 12 * 1024, "{}", body.len());
    let r = b.post("/login", &body);
    assert_ne!(r.status, Status::PayloadTooLarge);
}
