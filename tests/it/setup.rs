//! First run: the one-time setup link creates the first administrator, once.

use crate::common::*;
use gatehouse::accounts::Role;
use rocket::http::Status;

fn setup_token(app: &TestApp) -> String {
    // The server printed it at start; tests take a new one the same way.
    app.state().setup().issue(app.state().now()).unwrap()
}

fn post_setup(b: &Browser<'_>, token: &str, name: &str, pw: &str, confirm: &str) -> Resp {
    let csrf = b.token(&format!("/setup?token={token}"));
    b.post(
        "/setup",
        &format!(
            "token={token}&username={}&password={}&confirm={}&csrf_token={csrf}",
            enc(name),
            enc(pw),
            enc(confirm)
        ),
    )
}

#[test]
fn setup_creates_the_first_administrator_once() {
    let app = app();
    let token = setup_token(&app);
    let b = app.browser();
    let page = b.get(&format!("/setup?token={token}"));
    assert_eq!(page.status, Status::Ok);
    assert!(page.body.contains("Create the administrator"));
    assert!(page.body.contains("autocomplete=\"new-password\""));
    let r = post_setup(&b, &token, "root-admin", PASSWORD, PASSWORD);
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), "/login?notice=setup_done");
    // The link is spent.
    assert_eq!(
        b.get(&format!("/setup?token={token}")).status,
        Status::NotFound
    );
    // The administrator can sign in and is an admin.
    let admin = app.browser();
    assert_eq!(
        admin.login("root-admin", PASSWORD, false).status,
        Status::SeeOther
    );
    assert!(admin
        .get("/dashboard")
        .body
        .contains("<strong class=\"role\">admin</strong>"));
    assert_eq!(app.audit_kinds("setup_admin_created").len(), 1);
}

#[test]
fn setup_refuses_bad_links() {
    let app = app();
    let _token = setup_token(&app);
    for path in [
        "/setup",
        "/setup?token=",
        "/setup?token=wrong",
        "/setup?token=%FF",
    ] {
        let r = app.browser().get(path);
        assert_eq!(r.status, Status::NotFound, "{path}");
    }
    // Posting with a made-up token does nothing.
    let b = app.browser();
    let csrf = b.token("/login");
    let r = b.post(
        "/setup",
        &format!(
            "token=made-up&username=mallory&password={0}&confirm={0}&csrf_token={csrf}",
            enc(PASSWORD)
        ),
    );
    assert_eq!(r.status, Status::NotFound);
    assert_eq!(
        app.browser().login("mallory", PASSWORD, false).status,
        Status::Unauthorized
    );
}

#[test]
fn setup_applies_the_password_policy_and_keeps_the_link() {
    let app = app();
    let token = setup_token(&app);
    let b = app.browser();
    let r = post_setup(&b, &token, "root-admin", "too short", "too short");
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("at least 15 characters"));
    let r = post_setup(
        &b,
        &token,
        "root-admin",
        PASSWORD,
        "something else entirely",
    );
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("do not match"));
    let r = post_setup(
        &b,
        &token,
        "root-admin",
        "root-admin-password-123",
        "root-admin-password-123",
    );
    assert_eq!(r.status, Status::UnprocessableEntity);
    assert!(r.body.contains("does not contain your username"));
    let r = post_setup(&b, &token, "a", PASSWORD, PASSWORD);
    assert_eq!(r.status, Status::UnprocessableEntity);
    // Still usable after the refusals.
    assert_eq!(
        post_setup(&b, &token, "root-admin", PASSWORD, PASSWORD).status,
        Status::SeeOther
    );
}

#[test]
fn no_setup_link_once_an_administrator_exists() {
    let dir = tempfile::tempdir().unwrap();
    {
        let client =
            rocket::local::blocking::Client::untracked(gatehouse::rocket(figment(&dir))).unwrap();
        let app = client.rocket().state::<gatehouse::App>().unwrap();
        assert!(app.setup().is_offered(), "a fresh install offers setup");
        app.create_user("admin", Role::Admin, PASSWORD).unwrap();
    }
    let client =
        rocket::local::blocking::Client::untracked(gatehouse::rocket(figment(&dir))).unwrap();
    let app = client.rocket().state::<gatehouse::App>().unwrap();
    assert!(
        !app.setup().is_offered(),
        "no setup link with an administrator present"
    );
}

#[test]
fn setup_never_creates_a_second_administrator() {
    let app = app();
    let token = setup_token(&app);
    app.create_user("first-admin", Role::Admin);
    let b = app.browser();
    let r = post_setup(&b, &token, "second-admin", PASSWORD, PASSWORD);
    assert_eq!(r.status, Status::NotFound);
    assert_eq!(
        app.browser().login("second-admin", PASSWORD, false).status,
        Status::Unauthorized
    );
}
