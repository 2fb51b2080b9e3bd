//! Key rotation across restarts, revocations surviving a restart, and password policy.

use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse::accounts::Role;
use rocket::http::Status;
use rocket::local::blocking::Client;

fn client_with_keys(dir: &tempfile::TempDir, keys: &[(&str, &str)]) -> Client {
    let keys: Vec<_> = keys
        .iter()
        .map(|(kid, secret)| serde_json::json!({ "kid": kid, "secret": secret }))
        .collect();
    Client::untracked(gatehouse::rocket(figment(dir).merge(("jwt_keys", keys)))).unwrap()
}

fn kid_of(token: &str) -> String {
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_string()
}

#[test]
fn full_key_rotation() {
    let dir = tempfile::tempdir().unwrap();
    // 1. Only k1: tokens are signed with k1.
    let (access, refresh) = {
        let client = client_with_keys(&dir, &[("k1", KEY1_SECRET)]);
        let app = client.rocket().state::<gatehouse::App>().unwrap();
        app.create_user("alice", Role::User, PASSWORD).unwrap();
        let b = Browser::new(&client);
        assert_eq!(b.login("alice", PASSWORD, false).status, Status::SeeOther);
        let access = b.cookie("__Host-access").unwrap();
        assert_eq!(kid_of(&access), "k1");
        (access, b.cookie("__Host-refresh").unwrap())
    };
    // 2. k2 added in front: k2 signs, k1 still verifies.
    {
        let client = client_with_keys(&dir, &[("k2", KEY2_SECRET), ("k1", KEY1_SECRET)]);
        let old = Browser::new(&client);
        old.set_cookie("__Host-access", &access);
        let r = old.get("/dashboard");
        assert_eq!(
            r.status,
            Status::Ok,
            "a k1 token still works during the rotation"
        );
        assert!(
            r.set_cookies("__Host-access").is_empty(),
            "and needs no renewal"
        );
        let fresh = Browser::new(&client);
        fresh.login("alice", PASSWORD, false);
        assert_eq!(kid_of(&fresh.cookie("__Host-access").unwrap()), "k2");
    }
    // 3. k1 removed: its tokens are refused, and the refresh cookie renews with k2.
    {
        let client = client_with_keys(&dir, &[("k2", KEY2_SECRET)]);
        let old = Browser::new(&client);
        old.set_cookie("__Host-access", &access);
        assert!(
            old.get("/dashboard").is_login_redirect(),
            "a token of a removed key is refused"
        );
        let renewing = Browser::new(&client);
        renewing.set_cookie("__Host-access", &access);
        renewing.set_cookie("__Host-refresh", &refresh);
        let r = renewing.get("/dashboard");
        assert_eq!(r.status, Status::Ok);
        assert_eq!(kid_of(&renewing.cookie("__Host-access").unwrap()), "k2");
    }
}

#[test]
fn ended_sessions_stay_ended_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let access = {
        let client = client_with_keys(&dir, &[("k1", KEY1_SECRET)]);
        let app = client.rocket().state::<gatehouse::App>().unwrap();
        app.create_user("alice", Role::User, PASSWORD).unwrap();
        let b = Browser::new(&client);
        b.login("alice", PASSWORD, false);
        let access = b.cookie("__Host-access").unwrap();
        let r = b.post("/logout", &format!("csrf_token={}", b.token("/logout")));
        assert_eq!(r.status, Status::SeeOther);
        access
    };
    let client = client_with_keys(&dir, &[("k1", KEY1_SECRET)]);
    let b = Browser::new(&client);
    b.set_cookie("__Host-access", &access);
    assert!(
        b.get("/dashboard").is_login_redirect(),
        "the new instance loaded the revocation"
    );
}

#[test]
fn common_and_guessable_passwords_are_refused_with_advice() {
    let app = app();
    for weak in [
        "passwordpassword",
        "123456789012345",
        "qwertyuiopasdfgh",
        "aaaaaaaaaaaaaaaaaaaa",
        "iloveyouiloveyou",
    ] {
        let err = app
            .state()
            .create_user("someone", Role::User, weak)
            .unwrap_err();
        assert!(
            err.contains("too common or too easy to guess"),
            "{weak}: {err}"
        );
    }
    // Long, unrelated words pass; so does a long non-English phrase.
    for good in [
        PASSWORD,
        "mango tractor violin seventeen",
        "바다 위의 작은 등대가 빛난다",
    ] {
        let name = format!("u{}", good.len());
        app.state().create_user(&name, Role::User, good).unwrap();
    }
}

#[test]
fn the_minimum_length_is_configurable_but_never_below_eight() {
    let app = app_with(|f| f.merge(("password_min_length", 10)));
    app.state()
        .create_user("tenchars", Role::User, "vK8#pz!Lq2")
        .unwrap();
    let err = app
        .state()
        .create_user("ninechars", Role::User, "vK8#pz!Lq")
        .unwrap_err();
    assert!(err.contains("at least 10 characters"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let err =
        gatehouse::config::Settings::from_figment(&figment(&dir).merge(("password_min_length", 7)))
            .unwrap_err();
    assert!(err.contains("password_min_length"));
}
