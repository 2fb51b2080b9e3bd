//! Headers on every response, health endpoints, static files (files only: no folders or
//! hidden names), error pages.

use crate::common::*;
use gatehouse::accounts::Role;
use rocket::http::Status;

fn assert_security_headers(r: &Resp, what: &str) {
    let csp = r
        .header("Content-Security-Policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    for directive in [
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{what}: CSP lacks {directive}");
    }
    assert_eq!(
        r.header("X-Content-Type-Options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("Referrer-Policy"), Some("same-origin"), "{what}");
    assert_eq!(r.header("X-Frame-Options"), Some("DENY"), "{what}");
    assert!(
        r.header("Strict-Transport-Security")
            .unwrap_or("")
            .contains("max-age="),
        "{what}: HSTS"
    );
    assert_eq!(r.header("Server"), None, "{what}: Server header");
}

#[test]
fn every_response_carries_the_security_headers() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    for path in [
        "/login",
        "/dashboard",
        "/logout",
        "/nope",
        "/healthz",
        "/static/app.css",
    ] {
        assert_security_headers(&b.get(path), path);
    }
    assert_security_headers(&app.browser().get("/dashboard"), "redirect");
    assert_security_headers(&b.post("/logout", ""), "403");
}

#[test]
fn pages_are_not_cached_but_static_files_may_be() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    for path in ["/dashboard", "/login", "/logout"] {
        assert_eq!(
            b.get(path).header("Cache-Control"),
            Some("no-store"),
            "{path}"
        );
    }
    let css = b.get("/static/app.css");
    assert_eq!(css.status, Status::Ok);
    assert!(css
        .header("Content-Type")
        .unwrap_or("")
        .starts_with("text/css"));
    assert_ne!(css.header("Cache-Control"), Some("no-store"));
}

#[test]
fn without_cookie_secure_there_is_no_hsts_and_no_secure_flag() {
    let app = app_with(|f| f.merge(("cookie_secure", false)));
    app.create_user("alice", Role::User);
    let b = app.browser();
    let r = b.login("alice", PASSWORD, false);
    assert!(r.header("Strict-Transport-Security").is_none());
    // Browsers refuse `__Host-`/`__Secure-` cookies without `Secure`: no prefix then.
    let all: Vec<String> = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Set-Cookie"))
        .map(|(_, v)| v.clone())
        .collect();
    assert!(!all.is_empty());
    for c in &all {
        assert!(
            !c.starts_with("__Host-") && !c.starts_with("__Secure-"),
            "{c}"
        );
        assert!(!c.contains("Secure"), "{c}");
    }
    assert!(!r.set_cookies("gatehouse-access").is_empty(), "{all:?}");
    assert!(!r.set_cookies("gatehouse-refresh").is_empty(), "{all:?}");
    // And the browser is signed in with them.
    assert_eq!(b.get("/dashboard").status, Status::Ok);
    b.drop_cookie("gatehouse-access");
    assert_eq!(
        b.get("/dashboard").status,
        Status::Ok,
        "the refresh cookie rotates"
    );
}

#[test]
fn health_and_readiness() {
    let app = app();
    let r = app.browser().get("/healthz");
    assert_eq!((r.status, r.body.as_str()), (Status::Ok, "ok"));
    let r = app.browser().get("/readyz");
    assert_eq!((r.status, r.body.as_str()), (Status::Ok, "ready"));
}

#[test]
fn error_pages_use_the_layout_and_status() {
    let app = app();
    let r = app.browser().get("/no-such-page");
    assert_eq!(r.status, Status::NotFound);
    assert!(r.body.contains("<title>Gatehouse</title>") || r.body.contains("· Gatehouse</title>"));
    assert!(r.body.contains("Error 404"));
    assert!(r.body.contains("href=\"/static/app.css\""));
}

#[test]
fn the_login_form_has_the_contract_fields() {
    let app = app();
    let r = app.browser().get("/login");
    for field in [
        "name=\"username\"",
        "name=\"password\"",
        "name=\"remember\"",
        "name=\"csrf_token\"",
        "name=\"next\"",
    ] {
        assert!(r.body.contains(field), "missing {field}");
    }
    assert!(r.body.contains("autocomplete=\"username\""));
    assert!(r.body.contains("autocomplete=\"current-password\""));
    let presession = r.set_cookies("__Host-presession");
    assert_eq!(presession.len(), 1);
    for flag in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(presession[0].contains(flag), "{flag}");
    }
}

#[test]
fn pages_are_html_in_every_language() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    let anonymous = app.browser();
    for path in [
        "/login",
        "/dashboard",
        "/account",
        "/nope",
        "/login?lang=ko",
        "/dashboard?lang=ko",
    ] {
        let r = if path.starts_with("/login") {
            anonymous.get(path)
        } else {
            b.get(path)
        };
        assert!(
            r.header("Content-Type")
                .unwrap_or("")
                .starts_with("text/html"),
            "{path}: {:?}",
            r.header("Content-Type")
        );
    }
    // The compiled Korean copies escape like the originals.
    let mut k = app.browser();
    k.headers
        .push(rocket::http::Header::new("Accept-Language", "ko"));
    let r = k.login("<b>x</b>", "whatever-password-here", false);
    assert!(r.body.contains("&lt;b&gt;x&lt;&#x2F;b&gt;") && !r.body.contains("<b>x</b>"));
}

// Static files only.

#[test]
fn static_files_only_no_folders_or_hidden_names() {
    let app = app();
    let b = app.browser();
    assert_eq!(b.get("/static/app.css").status, Status::Ok);
    for path in [
        "/static/",
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/.gitkeep",
        "/static/nothing-here.css",
    ] {
        let r = b.get(path);
        assert!(
            [
                Status::NotFound,
                Status::BadRequest,
                Status::UnprocessableEntity
            ]
            .contains(&r.status),
            "{path}: {}",
            r.status
        );
        assert!(!r.body.contains("[package]"), "{path}");
    }
}
