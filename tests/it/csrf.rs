//! CSRF refusals on every kind of form: missing or wrong tokens, foreign origins
//! (compared by scheme, host and port); a pre-sign-in token only for pre-sign-in forms.

use crate::common::*;
use gatehouse::accounts::Role;
use rocket::http::{Header, Status};

fn login_body(token: &str) -> String {
    format!(
        "username=alice&password={}&csrf_token={token}",
        enc(PASSWORD)
    )
}

#[test]
fn login_without_a_token_is_refused() {
    let app = app();
    app.create_user("alice", Role::User);
    let b = app.browser();
    b.get("/login");
    let r = b.post(
        "/login",
        &format!("username=alice&password={}", enc(PASSWORD)),
    );
    assert_eq!(r.status, Status::Forbidden);
    assert!(r.set_cookies("__Host-access").is_empty());
    assert!(app.audit_kinds("login_success").is_empty());
}

#[test]
fn login_with_a_wrong_or_foreign_token_is_refused() {
    let app = app();
    app.create_user("alice", Role::User);
    let b = app.browser();
    let mine = b.token("/login");
    let theirs = app.browser().token("/login");
    assert_ne!(mine, theirs);
    for token in [
        theirs.as_str(),
        "x",
        "",
        &"A".repeat(43),
        &format!("{mine}A"),
    ] {
        let r = b.post("/login", &login_body(token));
        assert_eq!(r.status, Status::Forbidden, "token {token:?}");
    }
    // A browser without the pre-session cookie cannot use a token at all.
    let bare = app.browser();
    assert_eq!(
        bare.post("/login", &login_body(&mine)).status,
        Status::Forbidden
    );
    // The right token works.
    assert_eq!(
        b.post("/login", &login_body(&mine)).status,
        Status::SeeOther
    );
}

#[test]
fn cross_origin_posts_are_refused_even_with_a_valid_token() {
    let app = app();
    app.create_user("alice", Role::User);
    let cases = [
        Header::new("Origin", "https://evil.example"),
        Header::new("Origin", "null"),
        Header::new("Referer", "https://evil.example/page"),
        Header::new("Sec-Fetch-Site", "cross-site"),
    ];
    for h in cases {
        let b = app.browser();
        let token = b.token("/login");
        let shown = format!("{h}");
        let r = b.post_with("/login", &login_body(&token), h);
        assert_eq!(r.status, Status::Forbidden, "{shown}");
        assert!(r.body.contains("Forbidden"), "{shown}: rendered error page");
    }
}

#[test]
fn same_origin_posts_are_accepted() {
    let app = app();
    app.create_user("alice", Role::User);
    let browser = || {
        let mut b = app.browser();
        b.headers.push(Header::new("Host", "gate.example"));
        b.headers.push(Header::new("Sec-Fetch-Site", "same-origin"));
        b
    };
    let b = browser();
    let token = b.token("/login");
    let r = b.post_with(
        "/login",
        &login_body(&token),
        Header::new("Origin", "https://gate.example"),
    );
    assert_eq!(r.status, Status::SeeOther);
    // Origin naming another host than the one asked for is refused.
    let b = browser();
    let token = b.token("/login");
    let r = b.post_with(
        "/login",
        &login_body(&token),
        Header::new("Origin", "https://gate.example.evil"),
    );
    assert_eq!(r.status, Status::Forbidden);
}

#[test]
fn logout_needs_the_session_token() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    assert_eq!(b.post("/logout", "").status, Status::Forbidden);
    assert_eq!(
        b.post("/logout", "csrf_token=nope").status,
        Status::Forbidden
    );
    // The pre-sign-in token of another browser does not end this session.
    let other = app.browser().token("/login");
    assert_eq!(
        b.post("/logout", &format!("csrf_token={other}")).status,
        Status::Forbidden
    );
    let token = b.token("/logout");
    let r = b.post_with(
        "/logout",
        &format!("csrf_token={token}"),
        Header::new("Origin", "https://evil.example"),
    );
    assert_eq!(r.status, Status::Forbidden);
    // Still signed in after all of that.
    assert_eq!(b.get("/dashboard").status, Status::Ok);
    assert!(app.audit_kinds("logout").is_empty());
}

#[test]
fn session_tokens_differ_between_sessions() {
    let app = app();
    let (_, a) = app.signed_in("alice", Role::User);
    app.create_user("bobby", Role::User);
    let b = app.browser();
    b.login("bobby", PASSWORD, false);
    let bobs = b.token("/logout");
    // Bob's token cannot sign Alice out.
    assert_eq!(
        a.post("/logout", &format!("csrf_token={bobs}")).status,
        Status::Forbidden
    );
    assert_eq!(a.get("/dashboard").status, Status::Ok);
}

// A pre-sign-in token is good only for pre-sign-in forms.

#[test]
fn the_login_page_token_does_not_work_once_signed_in() {
    let app = app();
    app.create_user("bobby", Role::User);
    let b = app.browser();
    let pre_token = b.token("/login");
    let pre_cookie = b.cookie("__Host-presession").unwrap();
    let r = b.post(
        "/login",
        &crate::common::login_body("bobby", PASSWORD, &pre_token),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert_ne!(
        b.cookie("__Host-presession").unwrap(),
        pre_cookie,
        "the pre-session cookie is replaced at sign-in"
    );
    for path in ["/sessions/revoke-others", "/logout"] {
        let r = b.post(path, &format!("csrf_token={pre_token}"));
        assert_eq!(r.status, Status::Forbidden, "{path}");
    }
    // Even with the old pre-session cookie put back, a pre-session token does not
    // carry a signed-in form.
    b.set_cookie("__Host-presession", &pre_cookie);
    assert_eq!(
        b.post("/logout", &format!("csrf_token={pre_token}")).status,
        Status::Forbidden
    );
    assert_eq!(b.get("/dashboard").status, Status::Ok);
}

// Origins are compared by scheme, host and port.

#[test]
fn origins_are_compared_by_scheme_host_and_port() {
    let app = app();
    app.create_user("alice", Role::User);
    let post = |origin: &str| {
        let mut b = app.browser();
        b.headers.push(Header::new("Host", "gate.example"));
        let token = b.token("/login");
        b.post_with(
            "/login",
            &crate::common::login_body("alice", PASSWORD, &token),
            Header::new("Origin", origin.to_string()),
        )
        .status
    };
    assert_eq!(post("https://gate.example"), Status::SeeOther);
    assert_eq!(post("https://gate.example:443"), Status::SeeOther);
    assert_eq!(
        post("http://gate.example"),
        Status::Forbidden,
        "another scheme"
    );
    assert_eq!(
        post("https://gate.example:8443"),
        Status::Forbidden,
        "another port"
    );
    assert_eq!(post("https://GATE.example"), Status::SeeOther);
}
