//! Operations: /metrics (who may read it, behind a proxy too, what it counts) and
//! graceful shutdown.

use std::process::Command;
use std::time::Duration;

use crate::common::*;
use gatehouse::accounts::Role;
use rocket::http::{Header, Status};

fn metrics(app: &TestApp, from: &str, auth: Option<&str>) -> (Status, String) {
    let mut req = app.client.get("/metrics").remote(from.parse().unwrap());
    if let Some(a) = auth {
        req = req.header(Header::new("Authorization", a.to_string()));
    }
    let r = req.dispatch();
    (r.status(), r.into_string().unwrap_or_default())
}

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).map(|v| v.trim().parse().unwrap()))
        .unwrap_or_else(|| panic!("{series} not in\n{text}"))
}

#[test]
fn metrics_are_readable_only_from_allowed_addresses_or_with_the_token() {
    let app = app_with(|f| f.merge(("metrics_token", "a-long-metrics-token-123")));
    assert_eq!(metrics(&app, "127.0.0.1:5000", None).0, Status::Ok);
    assert_eq!(metrics(&app, "[::1]:5000", None).0, Status::Ok);
    assert_eq!(metrics(&app, "203.0.113.9:5000", None).0, Status::Forbidden);
    assert_eq!(
        metrics(
            &app,
            "203.0.113.9:5000",
            Some("Bearer wrong-token-wrong-token")
        )
        .0,
        Status::Forbidden
    );
    assert_eq!(
        metrics(&app, "203.0.113.9:5000", Some("a-long-metrics-token-123")).0,
        Status::Forbidden
    );
    assert_eq!(
        metrics(
            &app,
            "203.0.113.9:5000",
            Some("Bearer a-long-metrics-token-123")
        )
        .0,
        Status::Ok
    );
    // A forwarded header does not make a stranger local.
    let r = app
        .client
        .get("/metrics")
        .remote("203.0.113.9:5000".parse().unwrap())
        .header(Header::new("X-Forwarded-For", "127.0.0.1"))
        .dispatch();
    assert_eq!(r.status(), Status::Forbidden);
}

#[test]
fn metrics_count_what_happens() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    app.create_user("alice", Role::User);
    let b = app.browser();
    assert_eq!(b.login("alice", PASSWORD, false).status, Status::SeeOther);
    for _ in 0..5 {
        app.browser()
            .login("alice", "not the password at all", false);
    }
    assert_eq!(
        app.browser().login("alice", PASSWORD, false).status,
        Status::TooManyRequests
    );
    b.drop_cookie("__Host-access");
    let stolen = b.copy();
    b.get("/dashboard"); // rotation
    b.drop_cookie("__Host-access");
    b.get("/dashboard"); // rotation
    stolen.get("/dashboard"); // reuse
    let (status, text) = metrics(&app, "127.0.0.1:1", None);
    assert_eq!(status, Status::Ok);
    assert_eq!(
        value(&text, "gatehouse_sign_ins_total{outcome=\"success\"}"),
        1.0
    );
    assert_eq!(
        value(&text, "gatehouse_sign_ins_total{outcome=\"failure\"}"),
        5.0
    );
    assert_eq!(
        value(&text, "gatehouse_sign_ins_total{outcome=\"throttled\"}"),
        1.0
    );
    assert_eq!(value(&text, "gatehouse_lockouts_total"), 1.0);
    assert_eq!(value(&text, "gatehouse_refresh_rotations_total"), 2.0);
    assert_eq!(
        value(&text, "gatehouse_refresh_reuse_detections_total"),
        1.0
    );
    assert!(value(&text, "gatehouse_request_duration_seconds_count") >= 10.0);
    assert!(text.contains("# TYPE gatehouse_request_duration_seconds histogram"));
}

#[test]
fn revocations_are_counted() {
    let app = app();
    let (_, a) = app.signed_in("alice", Role::User);
    let b = app.browser();
    b.login("alice", PASSWORD, false);
    a.post(
        "/sessions/revoke-others",
        &format!("csrf_token={}", a.token("/logout")),
    );
    a.post("/logout", &format!("csrf_token={}", a.token("/logout")));
    let (_, text) = metrics(&app, "127.0.0.1:1", None);
    assert_eq!(value(&text, "gatehouse_session_revocations_total"), 2.0);
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let db = dir.path().join("s.sqlite").to_string_lossy().to_string();
    let mut server = spawn_server(&db, dir.path(), port, &[]);
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut exited = None;
    within("no graceful exit", Duration::from_secs(10), || {
        exited = server.try_wait().unwrap();
        exited.is_some()
    });
    if let Some(status) = exited {
        assert!(status.success(), "exit status after SIGTERM: {status}");
    }
}

// /metrics checks the real client address.

#[test]
fn metrics_behind_a_trusted_proxy_check_the_forwarded_client() {
    let app = app_with(|f| f.merge(("trusted_proxies", vec!["127.0.0.1"])));
    let get = |xff: Option<&str>| {
        let mut r = app
            .client
            .get("/metrics")
            .remote("127.0.0.1:4000".parse().unwrap());
        if let Some(v) = xff {
            r = r.header(Header::new("X-Forwarded-For", v.to_string()));
        }
        r.dispatch().status()
    };
    assert_eq!(get(Some("203.0.113.9")), Status::Forbidden);
    assert_eq!(get(None), Status::Ok, "the proxy host itself");
    assert_eq!(get(Some("127.0.0.1")), Status::Ok);
}
