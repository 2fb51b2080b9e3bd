//! Signing in: success, the one generic failure, long passwords, `next`, audit rows; a
//! sign-in in flight cannot outlive a change made meanwhile; hashes made at another cost
//! are renewed.

use crate::common::*;
use gatehouse::accounts::{self, Role};
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

// A sign-in in flight cannot outlive what happened meanwhile.

/// Finishes a sign-in whose password check saw `checked`, as the sign-in route does.
fn finish_sign_in(app: &TestApp, checked: &accounts::Account) -> bool {
    let state = app.state();
    let checked = checked.clone();
    let now = state.now();
    let started = state
        .db()
        .run_blocking(move |c| {
            let new = gatehouse::sessions::NewSignIn {
                checked: &checked,
                rehash: None,
                remember: true,
                user_agent: "held back",
                ip: "192.0.2.7",
                throttle_key: &checked.username,
                others_in_flight: false,
                max_sessions: 50,
                new_device: false,
                event: gatehouse::audit::Kind::LoginSuccess,
                amr: "pwd",
            };
            gatehouse::sessions::start(c, &new, now)
        })
        .unwrap()
        .0;
    matches!(started, gatehouse::sessions::Started::Session { .. })
}

fn account(app: &TestApp, id: i64) -> accounts::Account {
    app.state()
        .db()
        .run_blocking(move |c| accounts::find(c, id))
        .unwrap()
        .unwrap()
}

#[test]
fn a_sign_in_held_before_its_session_while_the_password_changes_gets_none() {
    let app = app();
    let (id, alice) = app.signed_in("alice", Role::User);
    // Another sign-in (an attacker who knew the old password) has checked it…
    let checked = account(&app, id);
    // …and before it starts its session, alice changes her password.
    let token = alice.token("/account/password");
    let new = "a brand new passphrase of hers";
    let r = alice.post(
        "/account/password",
        &format!(
            "current={}&password={}&confirm={}&csrf_token={token}",
            enc(PASSWORD),
            enc(new),
            enc(new)
        ),
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(
        !finish_sign_in(&app, &checked),
        "a session for the old password"
    );
    assert_eq!(live_sessions(&app, id), 1, "only alice's own session");
    // Without the change in between, the same step starts a session.
    assert!(finish_sign_in(&app, &account(&app, id)));
}

#[test]
fn a_sign_in_held_before_its_session_while_an_admin_disables_gets_none() {
    let app = app();
    let (_, boss) = app.signed_in("boss", Role::Admin);
    let id = app.create_user("alice", Role::User);
    let checked = account(&app, id);
    let r = boss.post(
        &format!("/admin/users/{id}/disable"),
        &format!("csrf_token={}", boss.token("/logout")),
    );
    assert_eq!(r.status, Status::SeeOther);
    // Enabled again at once: the account is active, but the sign-in in flight saw an
    // older version of it.
    let r = boss.post(
        &format!("/admin/users/{id}/enable"),
        &format!("csrf_token={}", boss.token("/logout")),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert!(!finish_sign_in(&app, &checked));
    assert_eq!(live_sessions(&app, id), 0);
    assert!(app
        .audit_kinds("login_failure")
        .iter()
        .any(|e| e.detail.contains("changed while signing in")));
}

#[test]
fn a_session_of_an_older_account_version_cannot_refresh() {
    let app = app();
    let (id, alice) = app.signed_in("alice", Role::User);
    // A change that ends sessions but did not see this one (it was being created at
    // the time): only the version moves.
    app.state()
        .db()
        .run_blocking(move |c| accounts::bump_version(c, id))
        .unwrap();
    alice.drop_cookie("__Host-access");
    assert!(alice.get("/dashboard").is_login_redirect());
    assert_eq!(live_sessions(&app, id), 0);
}

// No timing leak after bcrypt_cost changes.

#[test]
fn hashes_made_at_another_cost_are_renewed_at_the_next_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let cost_of = |app: &gatehouse::App| {
        app.db()
            .run_blocking(|c| accounts::find_by_username(c, "alice"))
            .unwrap()
            .map(|a| accounts::password::cost_of(&a.password_hash))
    };
    {
        let client = rocket::local::blocking::Client::untracked(gatehouse::rocket(
            figment(&dir).merge(("bcrypt_cost", 10)),
        ))
        .unwrap();
        let app = client.rocket().state::<gatehouse::App>().unwrap();
        app.create_user("alice", Role::User, PASSWORD).unwrap();
        assert_eq!(cost_of(app), Some(Some(10)));
    }
    let client = rocket::local::blocking::Client::untracked(gatehouse::rocket(
        figment(&dir).merge(("bcrypt_cost", 12)),
    ))
    .unwrap();
    let app = client.rocket().state::<gatehouse::App>().unwrap();
    let b = Browser::new(&client);
    assert_eq!(b.login("alice", PASSWORD, false).status, Status::SeeOther);
    assert_eq!(cost_of(app), Some(Some(12)));
    // The password still works, and unknown names cost a verify at the new cost.
    assert_eq!(
        Browser::new(&client).login("alice", PASSWORD, false).status,
        Status::SeeOther
    );
}
