//! Throttling and client addresses: per username (known or not), per address, trusted
//! proxies, growing waits, unlock, audit; parallel guesses counted (one instance or
//! several, released together); lockout is not a weapon against a known browser.

use std::net::SocketAddr;

use crate::common::*;
use gatehouse::accounts::{self, Role};
use rocket::http::{ContentType, Header, Status};

const WRONG: &str = "not the password at all, sorry";

fn fail(b: &Browser<'_>, name: &str) -> Resp {
    b.login(name, "definitely not the password", false)
}

/// Waits an account has left, read from the database.
fn retry_after(r: &Resp) -> i64 {
    r.header("Retry-After")
        .expect("Retry-After header")
        .parse()
        .unwrap()
}

#[test]
fn five_failures_lock_a_username_whether_or_not_it_exists() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    app.create_user("alice", Role::User);
    let mut answers = Vec::new();
    for name in ["alice", "nobody-here"] {
        let b = app.browser();
        for i in 0..5 {
            assert_eq!(
                fail(&b, name).status,
                Status::Unauthorized,
                "{name} attempt {i}"
            );
        }
        let r = fail(&b, name);
        assert_eq!(r.status, Status::TooManyRequests, "{name}");
        assert!(
            (55..=60).contains(&retry_after(&r)),
            "{name}: first wait about a minute"
        );
        answers.push(r.body);
    }
    // The 429 page reads the same for both.
    assert_eq!(answers[0], answers[1]);
    // Even the right password is refused while locked.
    let r = app.browser().login("alice", PASSWORD, false);
    assert_eq!(r.status, Status::TooManyRequests);
    assert!(r.set_cookies("__Host-access").is_empty());
    // Lockouts are audited, for real and unknown names alike.
    let lockouts = app.audit_kinds("lockout");
    assert_eq!(lockouts.len(), 2);
    assert!(lockouts
        .iter()
        .any(|e| e.subject_name.as_deref() == Some("nobody-here")));
}

#[test]
fn waits_grow_and_are_capped() {
    use gatehouse::accounts::throttle::{self, Admission, Limits};
    let app = app();
    let limits = Limits {
        lockout_after: 5,
        base_wait: 60,
        max_wait: 900,
        per_hour: 100,
    };
    // Twelve failures, each tried as soon as the name may try again.
    let mut t = 1_000_000;
    let mut admissions = Vec::new();
    for _ in 0..12 {
        let admission = app
            .state()
            .db()
            .run_blocking(|c| {
                gatehouse::db::write_tx(c, |c| throttle::admit(c, "Growing", &limits, t))
            })
            .unwrap();
        match admission {
            Admission::Admitted { locked_for } => t += locked_for.unwrap_or(1),
            Admission::Wait(w) => panic!("asked to wait {w}s at {t}"),
        }
        admissions.push(admission);
    }
    let locked: Vec<i64> = admissions
        .iter()
        .filter_map(|a| match a {
            Admission::Admitted { locked_for } => *locked_for,
            Admission::Wait(_) => None,
        })
        .collect();
    assert_eq!(
        admissions[3],
        Admission::Admitted { locked_for: None },
        "no wait before the fifth failure"
    );
    assert_eq!(locked, vec![60, 120, 240, 480, 900, 900, 900, 900]);
    // While a wait runs, the name is refused before anything is counted.
    let refused = app
        .state()
        .db()
        .run_blocking(|c| {
            gatehouse::db::write_tx(c, |c| throttle::admit(c, "growing", &limits, t - 1))
        })
        .unwrap();
    assert_eq!(refused, Admission::Wait(1));
}

#[test]
fn the_hourly_cap_holds_whatever_the_waits() {
    use gatehouse::accounts::throttle::{self, Admission, Limits};
    let app = app();
    // Waits so short they never bite: only the hourly cap stops failures.
    let limits = Limits {
        lockout_after: 1000,
        base_wait: 1,
        max_wait: 1,
        per_hour: 100,
    };
    let db = &app.state().db();
    let admit = |t| {
        db.run_blocking(|c| {
            gatehouse::db::write_tx(c, |c| throttle::admit(c, "capped", &limits, t))
        })
        .unwrap()
    };
    for i in 0..100 {
        assert!(matches!(admit(5_000 + i), Admission::Admitted { .. }));
    }
    assert_eq!(
        admit(5_100),
        Admission::Wait(3600 - 100),
        "refused until the hour is over"
    );
    let wait = db
        .run_blocking(|c| throttle::wait(c, "capped", &limits, 5_100))
        .unwrap();
    assert_eq!(wait, Some(3600 - 100));
    assert!(matches!(admit(5_000 + 3600), Admission::Admitted { .. }));
}

#[test]
fn a_success_resets_the_run_of_failures() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    app.create_user("alice", Role::User);
    let b = app.browser();
    for _ in 0..4 {
        fail(&b, "alice");
    }
    assert_eq!(b.login("alice", PASSWORD, false).status, Status::SeeOther);
    let b = app.browser();
    for _ in 0..4 {
        assert_eq!(fail(&b, "alice").status, Status::Unauthorized);
    }
}

#[test]
fn an_admin_sees_the_lock_and_unlocks() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    let (_, admin) = app.signed_in("boss", Role::Admin);
    let target = app.create_user("alice", Role::User);
    let b = app.browser();
    for _ in 0..5 {
        fail(&b, "alice");
    }
    assert_eq!(
        b.login("alice", PASSWORD, false).status,
        Status::TooManyRequests
    );
    let list = admin.get("/admin/users?status=locked");
    assert!(list.body.contains(">alice</a>"), "locked account listed");
    assert!(list.body.contains("locked until"));
    let page = admin.get(&format!("/admin/users/{target}"));
    assert!(page.body.contains("locked until"));
    let r = admin.post(
        &format!("/admin/users/{target}/unlock"),
        &format!("csrf_token={}", admin.token("/logout")),
    );
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(
        app.browser().login("alice", PASSWORD, false).status,
        Status::SeeOther
    );
    assert_eq!(
        app.audit_kinds("admin_account_unlocked")[0].detail,
        "5 failures cleared"
    );
}

/// A sign-in attempt from a given peer address, with extra headers.
fn attempt_from(app: &TestApp, peer: &str, headers: &[(&str, &str)], name: &str) -> Status {
    let peer: SocketAddr = peer.parse().unwrap();
    let page = app.client.get("/login").remote(peer).dispatch();
    let cookie = page.cookies().get("__Host-presession").unwrap().clone();
    let token = csrf_token(&page.into_string().unwrap());
    let mut req = app
        .client
        .post("/login")
        .remote(peer)
        .header(ContentType::Form)
        .cookie(cookie)
        .body(format!(
            "username={name}&password=wrong-password-here&csrf_token={token}"
        ));
    for (n, v) in headers {
        req = req.header(Header::new(n.to_string(), v.to_string()));
    }
    req.dispatch().status()
}

#[test]
fn one_address_is_limited_across_usernames() {
    let app = app_with(|f| f.merge(("address_failures", 3)));
    for i in 0..3 {
        assert_eq!(
            attempt_from(&app, "203.0.113.7:5000", &[], &format!("name{i}")),
            Status::Unauthorized
        );
    }
    assert_eq!(
        attempt_from(&app, "203.0.113.7:5000", &[], "another"),
        Status::TooManyRequests
    );
    // Another address is not affected.
    assert_eq!(
        attempt_from(&app, "203.0.113.8:5000", &[], "another"),
        Status::Unauthorized
    );
}

#[test]
fn forwarded_for_is_ignored_without_a_trusted_proxy() {
    let app = app_with(|f| f.merge(("address_failures", 3)));
    for i in 0..3 {
        let spoof = format!("198.51.100.{i}");
        let status = attempt_from(
            &app,
            "203.0.113.7:5000",
            &[("X-Forwarded-For", &spoof), ("X-Real-IP", &spoof)],
            "x",
        );
        assert_eq!(status, Status::Unauthorized);
    }
    // Rotating the header does not help: the peer address is what counts.
    let status = attempt_from(
        &app,
        "203.0.113.7:5000",
        &[("X-Forwarded-For", "198.51.100.99")],
        "x",
    );
    assert_eq!(status, Status::TooManyRequests);
    let events = app.audit_kinds("login_failure");
    assert!(
        events.iter().all(|e| e.ip == "203.0.113.7"),
        "{:?}",
        events.iter().map(|e| &e.ip).collect::<Vec<_>>()
    );
}

#[test]
fn forwarded_for_is_honoured_from_a_trusted_proxy() {
    let app = app_with(|f| {
        f.merge(("address_failures", 3))
            .merge(("trusted_proxies", vec!["10.0.0.1"]))
    });
    for _ in 0..3 {
        let status = attempt_from(
            &app,
            "10.0.0.1:443",
            &[("X-Forwarded-For", "198.51.100.1")],
            "x",
        );
        assert_eq!(status, Status::Unauthorized);
    }
    assert_eq!(
        attempt_from(
            &app,
            "10.0.0.1:443",
            &[("X-Forwarded-For", "198.51.100.1")],
            "x"
        ),
        Status::TooManyRequests
    );
    // A different client behind the same proxy is its own address; a spoofed left-most
    // entry is ignored (the proxy appends the real one on the right).
    assert_eq!(
        attempt_from(
            &app,
            "10.0.0.1:443",
            &[("X-Forwarded-For", "198.51.100.1, 198.51.100.2")],
            "y"
        ),
        Status::Unauthorized
    );
    let events = app.audit_kinds("login_failure");
    assert!(events.iter().any(|e| e.ip == "198.51.100.2"));
    assert!(events.iter().all(|e| e.ip != "10.0.0.1"));
}

// Parallel guessing is counted.

#[test]
fn sixty_parallel_guesses_verify_at_most_the_lockout_threshold() {
    with_async_app(
        |f| f.merge(("address_failures", 100_000)),
        |client, _dir| async move {
            let app = async_state(&client);
            app.create_user("alice", Role::User, PASSWORD).unwrap();
            let (cookie, token) = async_form(&client, "/login").await;
            let attempts = (0..60).map(|i| {
                // One right password among them, in the middle.
                let password = if i == 30 { PASSWORD } else { WRONG };
                async_post(
                    &client,
                    "/login",
                    login_body("alice", password, &token),
                    vec![cookie.clone()],
                )
            });
            let answers = futures::future::join_all(attempts).await;
            let (_, wrong) = app.hasher().verifications();
            let threshold = app.settings().throttle.lockout_after as u64;
            assert!(
                wrong <= threshold,
                "{wrong} wrong passwords verified (threshold {threshold})"
            );
            for a in &answers {
                assert!(
                    [
                        Status::SeeOther,
                        Status::Unauthorized,
                        Status::TooManyRequests
                    ]
                    .contains(&a.status),
                    "{}",
                    a.status
                );
            }
            assert!(answers.iter().any(|a| a.status == Status::TooManyRequests));
        },
    );
}

#[test]
fn parallel_guesses_through_several_instances_are_counted_once_in_the_database() {
    // Four instances on one database, fifteen guesses each, all released together: the
    // per-name count in the database bounds them all (each instance's in-memory limits
    // only see their own).
    let dir = tempfile::tempdir().unwrap();
    let figment = figment(&dir).merge(("address_failures", 100_000));
    rocket::execute(async move {
        let mut clients = Vec::new();
        for _ in 0..4 {
            clients.push(
                rocket::local::asynchronous::Client::untracked(gatehouse::rocket(figment.clone()))
                    .await
                    .unwrap(),
            );
        }
        async_state(&clients[0])
            .create_user("alice", Role::User, PASSWORD)
            .unwrap();
        let mut forms = Vec::new();
        for c in &clients {
            forms.push(async_form(c, "/login").await);
        }
        let attempts = clients
            .iter()
            .zip(&forms)
            .flat_map(|(client, (cookie, token))| {
                (0..15).map(move |_| {
                    async_post(
                        client,
                        "/login",
                        login_body("alice", WRONG, token),
                        vec![cookie.clone()],
                    )
                })
            });
        futures::future::join_all(attempts).await;
        let wrong: u64 = clients
            .iter()
            .map(|c| async_state(c).hasher().verifications().1)
            .sum();
        assert!(
            wrong <= 5,
            "{wrong} wrong passwords verified across instances"
        );
        let locked = async_state(&clients[0])
            .db()
            .run_blocking(|c| {
                accounts::throttle::status(c, "alice", gatehouse::clock::system_now())
            })
            .unwrap();
        assert!(locked.1.is_some(), "the name is locked: {locked:?}");
    });
}

#[test]
fn the_address_slot_is_taken_before_the_password_is_checked() {
    with_async_app(
        |f| f.merge(("address_failures", 4)),
        |client, _dir| async move {
            let (cookie, token) = async_form(&client, "/login").await;
            // Thirty different names from one address, together.
            let attempts = (0..30).map(|i| {
                async_post(
                    &client,
                    "/login",
                    login_body(&format!("nobody{i:02}"), WRONG, &token),
                    vec![cookie.clone()],
                )
            });
            let answers = futures::future::join_all(attempts).await;
            let (verified, _) = async_state(&client).hasher().verifications();
            assert!(
                verified <= 4,
                "{verified} passwords verified for one address"
            );
            let refused = answers
                .iter()
                .filter(|a| a.status == Status::TooManyRequests)
                .count();
            assert!(refused >= 26, "{refused} refused");
        },
    );
}

// Lockout is not a weapon.

#[test]
fn a_known_browser_signs_in_while_strangers_keep_the_name_locked() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    app.create_user("alice", Role::User);
    // Alice's own browser has signed in before (and signed out since).
    let known = app.browser();
    assert_eq!(
        known.login("alice", PASSWORD, false).status,
        Status::SeeOther
    );
    assert!(known.cookie("__Host-device").is_some());
    let token = known.token("/logout");
    known.post("/logout", &format!("csrf_token={token}"));
    // An attacker locks the name from elsewhere.
    let attacker = app.browser();
    for _ in 0..6 {
        attacker.login("alice", WRONG, false);
    }
    assert_eq!(
        attacker.login("alice", PASSWORD, false).status,
        Status::TooManyRequests
    );
    // Alice's browser is not held back; an unknown browser still is.
    assert_eq!(
        known.login("alice", PASSWORD, false).status,
        Status::SeeOther
    );
    assert_eq!(
        app.browser().login("alice", PASSWORD, false).status,
        Status::TooManyRequests
    );
    // A device cookie names one account: it does not help with another.
    let token = known.token("/logout");
    known.post("/logout", &format!("csrf_token={token}"));
    app.create_user("bobby", Role::User);
    for _ in 0..5 {
        attacker.login("bobby", WRONG, false);
    }
    assert_eq!(
        known.login("bobby", PASSWORD, false).status,
        Status::TooManyRequests
    );
}

#[test]
fn a_known_browser_guessing_is_throttled_on_its_own() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    app.create_user("alice", Role::User);
    let known = app.browser();
    assert_eq!(
        known.login("alice", PASSWORD, false).status,
        Status::SeeOther
    );
    let token = known.token("/logout");
    known.post("/logout", &format!("csrf_token={token}"));
    for _ in 0..5 {
        known.login("alice", WRONG, false);
    }
    assert_eq!(
        known.login("alice", PASSWORD, false).status,
        Status::TooManyRequests
    );
    // Its failures did not lock the name for everyone else.
    assert_eq!(
        app.browser().login("alice", PASSWORD, false).status,
        Status::SeeOther
    );
}
