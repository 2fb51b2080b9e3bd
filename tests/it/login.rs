//! Signing in: success, the one generic failure, long passwords, `next`, audit rows.

use crate::common::*;
use gatehouse::accounts::Role;
use rocket::http::Status;

#[test]
fn sign_in_redirects_and_records_the_event() {
    let app = app();
    app.create_user("alice", Role::User);
    let b = app.browser();
    let r = b.login("alice", PASSWORD, false);
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), "/dashboard");
    assert_eq!(b.get("/dashboard").status, Status::Ok);
    let events = app.audit_kinds("login_success");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].subject_name.as_deref(), Some("alice"));
}

#[test]
fn usernames_are_case_insensitive() {
    let app = app();
    app.create_user("Alice", Role::User);
    assert_eq!(
        app.browser().login("aLiCe", PASSWORD, false).status,
        Status::SeeOther
    );
    assert!(app
        .state()
        .create_user("ALICE", Role::User, PASSWORD)
        .is_err());
}

#[test]
fn unknown_user_and_wrong_password_get_the_same_answer() {
    let app = app();
    app.create_user("alice", Role::User);
    let b = app.browser();
    let wrong = b.login("alice", "not the right password at all", false);
    let unknown = b.login("bobby", "not the right password at all", false);
    for r in [&wrong, &unknown] {
        assert_eq!(r.status, Status::Unauthorized);
        assert!(r.body.contains("Invalid username or password."));
        assert!(r.set_cookies("__Host-access").is_empty());
    }
    // Apart from the name typed back into the field, the pages are identical.
    assert_eq!(
        wrong.body.replace("alice", "NAME"),
        unknown.body.replace("bobby", "NAME")
    );
    let failures = app.audit_kinds("login_failure");
    assert_eq!(failures.len(), 2);
    assert!(failures.iter().any(|e| e.detail == "unknown username"));
    assert!(failures.iter().any(|e| e.detail == "wrong password"));
}

#[test]
fn passwords_sharing_the_first_72_bytes_are_different_passwords() {
    let app = app();
    let prefix = "é".repeat(36); // 72 bytes of UTF-8
    let real = format!("{prefix}-the-real-ending");
    let other = format!("{prefix}-another-ending");
    app.state().create_user("alice", Role::User, &real).unwrap();
    assert_eq!(
        app.browser().login("alice", &other, false).status,
        Status::Unauthorized
    );
    assert_eq!(
        app.browser().login("alice", &prefix, false).status,
        Status::Unauthorized
    );
    assert_eq!(
        app.browser().login("alice", &real, false).status,
        Status::SeeOther
    );
}

#[test]
fn any_unicode_password_works() {
    let app = app();
    let pw = "🔐 비밀번호는 길고 기억하기 쉽게 \u{202e}ok";
    app.state().create_user("alice", Role::User, pw).unwrap();
    assert_eq!(
        app.browser().login("alice", pw, false).status,
        Status::SeeOther
    );
}

fn login_with_next(app: &TestApp, next: &str) -> Resp {
    let b = app.browser();
    let token = b.token("/login");
    b.post(
        "/login",
        &format!(
            "username=alice&password={}&csrf_token={token}&next={}",
            enc(PASSWORD),
            enc(next)
        ),
    )
}

#[test]
fn next_goes_only_to_local_paths() {
    let app = app();
    app.create_user("alice", Role::User);
    assert_eq!(
        login_with_next(&app, "/account?tab=1").location(),
        "/account?tab=1"
    );
    for bad in [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        " //evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
        "/%0a/x y",
    ] {
        let r = login_with_next(&app, bad);
        assert_eq!(r.status, Status::SeeOther, "{bad:?}");
        assert_eq!(
            r.location(),
            "/dashboard",
            "next={bad:?} must not be followed"
        );
    }
}

#[test]
fn the_login_page_keeps_a_safe_next_only() {
    let app = app();
    let page = app.browser().get("/login?next=%2Faccount");
    // Tera escapes '/' as &#x2F; in attributes, which the browser reads back as '/'.
    let next_field = |body: &str| {
        let marker = "name=\"next\" value=\"";
        let start = body.find(marker).unwrap() + marker.len();
        body[start..start + body[start..].find('"').unwrap()].replace("&#x2F;", "/")
    };
    assert_eq!(next_field(&page.body), "/account");
    let page = app.browser().get("/login?next=%2F%2Fevil.example");
    assert_eq!(next_field(&page.body), "/dashboard");
}

#[test]
fn signed_in_visit_to_login_goes_to_the_dashboard() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    let r = b.get("/login");
    assert_eq!((r.status, r.location()), (Status::SeeOther, "/dashboard"));
}

#[test]
fn username_is_escaped_when_shown_again() {
    let app = app();
    let b = app.browser();
    let r = b.login("<script>alert(1)</script>", "whatever-password-here", false);
    assert_eq!(r.status, Status::Unauthorized);
    assert!(!r.body.contains("<script>alert(1)</script>"));
    assert!(r.body.contains("&lt;script&gt;"));
}

#[test]
fn new_sign_in_gets_a_fresh_session_each_time() {
    let app = app();
    app.create_user("alice", Role::User);
    let a = app.browser();
    let b = app.browser();
    a.login("alice", PASSWORD, false);
    b.login("alice", PASSWORD, false);
    assert_ne!(a.cookie("__Host-refresh"), b.cookie("__Host-refresh"));
    assert_eq!(app.audit_kinds("login_success").len(), 2);
}
