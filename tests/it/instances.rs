//! Two instances on one database, as behind a load balancer: any instance accepts any
//! access cookie and rotates any refresh token; revocations, role changes and throttling
//! made on one hold on the other within 2 seconds.

use std::time::Duration;

use crate::common::*;
use gatehouse::accounts::Role;
use rocket::http::Status;
use rocket::local::blocking::Client;

fn two(dir: &tempfile::TempDir) -> (Client, Client) {
    let a = Client::untracked(gatehouse::rocket(figment(dir))).unwrap();
    let b = Client::untracked(gatehouse::rocket(figment(dir))).unwrap();
    (a, b)
}

fn state(c: &Client) -> &gatehouse::App {
    c.rocket().state::<gatehouse::App>().unwrap()
}

#[test]
fn cookies_from_one_instance_work_on_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two(&dir);
    state(&a)
        .create_user("alice", Role::User, PASSWORD)
        .unwrap();
    let on_a = Browser::new(&a);
    assert_eq!(
        on_a.login("alice", PASSWORD, false).status,
        Status::SeeOther
    );
    let on_b = on_a.on(&b);
    assert_eq!(
        on_b.get("/dashboard").status,
        Status::Ok,
        "A's access cookie on B"
    );
    // Rotation on B from A's refresh token.
    on_b.drop_cookie("__Host-access");
    let r = on_b.get("/dashboard");
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.set_cookies("__Host-refresh").len(), 1, "B rotated");
    // The new pair works back on A.
    assert_eq!(on_b.on(&a).get("/account").status, Status::Ok);
}

#[test]
fn refresh_reuse_across_instances_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two(&dir);
    state(&a)
        .create_user("alice", Role::User, PASSWORD)
        .unwrap();
    let on_a = Browser::new(&a);
    on_a.login("alice", PASSWORD, false);
    on_a.drop_cookie("__Host-access");
    let stolen = on_a.copy(); // token 0, kept on A
    let on_b = on_a.on(&b);
    assert_eq!(on_b.get("/dashboard").status, Status::Ok); // B: 0 → 1
    on_b.drop_cookie("__Host-access");
    assert_eq!(on_b.get("/dashboard").status, Status::Ok); // B: 1 → 2
    assert!(
        stolen.get("/dashboard").is_login_redirect(),
        "reuse of token 0 on A"
    );
    // B's current access token is refused on B within 2 s (it learns through the feed).
    let took = within("the other instance sees it", Duration::from_secs(2), || {
        on_b.get("/dashboard").is_login_redirect()
    });
    println!("reuse on A refused on B after {took:?}");
    assert_eq!(
        state(&b)
            .db()
            .run_blocking(|c| gatehouse::audit::search(
                c,
                None,
                Some("refresh_token_reuse"),
                None,
                5
            )
            .map(|p| p.0))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn logout_and_revocations_on_one_instance_reach_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two(&dir);
    state(&a)
        .create_user("alice", Role::User, PASSWORD)
        .unwrap();
    let on_a = Browser::new(&a);
    on_a.login("alice", PASSWORD, false);
    let on_b = on_a.on(&b);
    assert_eq!(on_b.get("/dashboard").status, Status::Ok);
    let r = on_a.post("/logout", &format!("csrf_token={}", on_a.token("/logout")));
    assert_eq!(r.status, Status::SeeOther);
    let took = within("the other instance sees it", Duration::from_secs(2), || {
        on_b.get("/dashboard").is_login_redirect()
    });
    println!("logout on A refused on B after {took:?}");
}

#[test]
fn disable_and_role_change_on_one_instance_reach_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two(&dir);
    state(&a)
        .create_user("boss", Role::Admin, PASSWORD)
        .unwrap();
    let target = state(&a)
        .create_user("alice", Role::User, PASSWORD)
        .unwrap()
        .id;
    let admin = Browser::new(&a);
    admin.login("boss", PASSWORD, false);
    let alice_b = Browser::new(&b);
    alice_b.login("alice", PASSWORD, false);
    assert_eq!(alice_b.get("/admin/users").status, Status::Forbidden);
    let token = admin.token("/logout");
    // Promotion on A: B serves alice as an admin within 2 s.
    let r = admin.post(
        &format!("/admin/users/{target}/role"),
        &format!("role=admin&csrf_token={token}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    let took = within("the other instance sees it", Duration::from_secs(2), || {
        alice_b.get("/admin/users").status == Status::Ok
    });
    println!("role change on A seen on B after {took:?}");
    // Disable on A: B refuses alice within 2 s.
    let r = admin.post(
        &format!("/admin/users/{target}/disable"),
        &format!("csrf_token={token}"),
    );
    assert_eq!(r.status, Status::SeeOther);
    let took = within("the other instance sees it", Duration::from_secs(2), || {
        alice_b.get("/dashboard").is_login_redirect()
    });
    println!("disable on A refused on B after {took:?}");
}

#[test]
fn the_per_account_throttle_is_shared() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two(&dir);
    state(&a)
        .create_user("alice", Role::User, PASSWORD)
        .unwrap();
    for i in 0..5 {
        // Alternate instances: the count is one.
        let client = if i % 2 == 0 { &a } else { &b };
        let browser = Browser::new(client);
        assert_eq!(
            browser
                .login("alice", "wrong password for alice", false)
                .status,
            Status::Unauthorized
        );
    }
    for client in [&a, &b] {
        let browser = Browser::new(client);
        assert_eq!(
            browser.login("alice", PASSWORD, false).status,
            Status::TooManyRequests
        );
    }
}

#[test]
fn instances_starting_together_on_an_empty_database_both_come_up() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&dir); // creates the (empty) database on PostgreSQL
    let barrier = std::sync::Barrier::new(4);
    let started: Vec<Result<(), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let figment = figment(&dir).merge(("database_url", url.clone()));
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    // `kind()` marks Rocket's error as seen (it panics when dropped unseen).
                    Client::untracked(gatehouse::rocket(figment))
                        .map(drop)
                        .map_err(|e| format!("{:?}", e.kind()))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        started.iter().all(Result::is_ok),
        "every instance migrated or found the schema ready: {started:?}"
    );
    let client = Client::untracked(gatehouse::rocket(figment(&dir))).unwrap();
    state(&client)
        .create_user("alice", Role::User, PASSWORD)
        .unwrap();
}

/// The documented rotation, rolled out one instance at a time: B starts with a new signing
/// key first while A still signs with the old one. Forms opened on A before the rotation
/// post to B, and a browser A knows stays known on B (the form and device keys come from
/// `encryption_key`, not from the first signing key).
#[test]
fn forms_and_device_cookies_outlive_a_rolling_signing_key_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let mail = |f: rocket::figment::Figment| {
        f.merge((
            "smtp_url",
            format!("smtp://127.0.0.1:{}?tls=none", free_port()),
        ))
        .merge(("public_url", "https://auth.test"))
        .merge(("mail_from", "auth@auth.test"))
    };
    let a = Client::untracked(gatehouse::rocket(mail(figment(&dir)))).unwrap();
    let alice = state(&a)
        .create_user("alice", Role::User, PASSWORD)
        .unwrap()
        .id;
    crate::mail::give_verified_email_on(state(&a), alice, "alice@example.com");
    let new_devices = || {
        state(&a)
            .db()
            .run_blocking(|c| {
                use diesel::prelude::*;
                use gatehouse::db::schema::outbox;
                Ok(outbox::table
                    .filter(outbox::kind.eq("new_device"))
                    .count()
                    .get_result::<i64>(c)?)
            })
            .unwrap()
    };
    let on_a = Browser::new(&a);
    assert_eq!(
        on_a.login("alice", PASSWORD, false).status,
        Status::SeeOther
    );
    assert_eq!(new_devices(), 1, "the first sign-in of this browser");
    assert!(on_a.cookie("__Host-device").is_some());
    // Forms opened on A before the rotation: one in the session, one before sign-in.
    let logout_form = on_a.token("/logout");
    let stranger_on_a = Browser::new(&a);
    let login_form = stranger_on_a.token("/login");
    // B: the new key first, the old one second.
    let b = Client::untracked(gatehouse::rocket(mail(figment(&dir)).merge((
        "jwt_keys",
        vec![
            serde_json::json!({ "kid": "k2", "secret": KEY2_SECRET }),
            serde_json::json!({ "kid": "k1", "secret": KEY1_SECRET }),
        ],
    ))))
    .unwrap();
    let stranger_on_b = stranger_on_a.on(&b);
    stranger_on_b.set_cookie(
        "__Host-device",
        &on_a.cookie("__Host-device").unwrap_or_default(),
    );
    let r = stranger_on_b.post(
        "/login",
        &format!(
            "username=alice&password={}&csrf_token={login_form}",
            enc(PASSWORD)
        ),
    );
    assert_eq!(
        r.status,
        Status::SeeOther,
        "a sign-in form from A posts to B"
    );
    assert_eq!(new_devices(), 1, "A's device cookie is known on B");
    let on_b = on_a.on(&b);
    let r = on_b.post("/logout", &format!("csrf_token={logout_form}"));
    assert_eq!(
        r.status,
        Status::SeeOther,
        "a session form from A posts to B"
    );
}
