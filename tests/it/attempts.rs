//! The one attempt pipeline (sign-in, its second step, "confirm it's you", the current
//! password): a wait always ends, a correct password (and code) never starts or prolongs
//! a wait of its own account, a stranger's failures do not lock the owner's live session
//! out, and parallel guesses are all counted. Concurrent cases release their requests
//! together.

use crate::common::*;
use crate::second_factor::{code_step, enrol, fresh_code, hidden};
use gatehouse::accounts::{throttle, Role};
use gatehouse::App;
use rocket::http::Status;

const WRONG: &str = "not the password at all, sorry";

fn retry_after(r: &Resp) -> i64 {
    r.header("Retry-After")
        .expect("Retry-After header")
        .parse()
        .unwrap()
}

/// A stranger's browser (no device cookie for the account) fails five times; the sixth
/// try is refused. Returns the wait the stranger is told.
fn strangers_lockout(app: &TestApp, name: &str) -> i64 {
    let stranger = app.browser();
    for i in 0..5 {
        let r = stranger.login(name, WRONG, false);
        assert_eq!(r.status, Status::Unauthorized, "stranger's attempt {i}");
    }
    let r = stranger.login(name, WRONG, false);
    assert_eq!(r.status, Status::TooManyRequests);
    retry_after(&r)
}

/// Failures in a row and the lock end of a throttle key.
fn throttle_status(app: &App, key: &str) -> (i32, Option<i64>) {
    let (key, now) = (key.to_string(), app.now());
    app.db()
        .run_blocking(move |c| throttle::status(c, &key, now))
        .unwrap()
}

/// Signs `name` in with the right password in `b` and checks that the code is awaited.
fn reaches_second_step(b: &Browser<'_>, name: &str) {
    let r = b.login(name, PASSWORD, false);
    assert!(
        r.location().starts_with("/login/2fa"),
        "{:?} {}",
        r.status,
        r.location()
    );
}

/// An administrator `boss` with TOTP, locked out by a stranger whose wait is now over.
/// Returns the TOTP secret and the wait that passed.
fn boss_after_a_strangers_wait(app: &TestApp) -> (Vec<u8>, i64) {
    let (_, owner) = app.signed_in("boss", Role::Admin);
    let (secret, _) = enrol(app, &owner);
    let wait = strangers_lockout(app, "boss");
    app.state().clock().advance(wait + 1);
    (secret, wait)
}

fn two_factor_app() -> TestApp {
    app_with(|f| {
        f.merge(("address_failures", 1000))
            .merge(("require_2fa", "admins"))
    })
}

// 1. A wait always ends, for a 2FA account too.

#[test]
fn after_a_strangers_lockout_the_owner_signs_in_with_password_and_code_from_a_new_browser() {
    let app = two_factor_app();
    let (secret, _) = boss_after_a_strangers_wait(&app);
    let b = app.browser();
    let r = b.login("boss", PASSWORD, false);
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert!(r.location().starts_with("/login/2fa"), "{}", r.location());
    let r = code_step(&b, &fresh_code(&app, &secret));
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), "/account");
    assert!(!r.set_cookies("__Host-access").is_empty());
    assert_eq!(b.get("/admin/users").status, Status::Ok);
    // The run of failures is over: yet another new browser goes straight through too.
    let other = app.browser();
    reaches_second_step(&other, "boss");
    assert_eq!(
        code_step(&other, &fresh_code(&app, &secret)).status,
        Status::SeeOther
    );
    assert_eq!(throttle_status(app.state(), "boss"), (0, None));
}

#[test]
fn while_the_wait_runs_the_owner_waits_and_then_signs_in() {
    let app = two_factor_app();
    let (_, owner) = app.signed_in("boss", Role::Admin);
    let (secret, _) = enrol(&app, &owner);
    strangers_lockout(&app, "boss");
    let b = app.browser();
    let r = b.login("boss", PASSWORD, false);
    assert_eq!(r.status, Status::TooManyRequests);
    assert!(r.set_cookies("__Host-pending").is_empty());
    let wait = retry_after(&r);
    assert!((1..=60).contains(&wait), "{wait}");
    app.state().clock().advance(wait);
    let r = b.login("boss", PASSWORD, false);
    assert!(r.location().starts_with("/login/2fa"), "{:?}", r.status);
    let r = code_step(&b, &fresh_code(&app, &secret));
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), "/account");
}

#[test]
fn wrong_codes_after_the_wait_still_count_and_end_the_pending_sign_in() {
    let app = two_factor_app();
    let (secret, wait) = boss_after_a_strangers_wait(&app);
    // The stranger has the password but not the code: the run of five failures goes on,
    // so the first wrong code starts the next (longer) wait and ends the pending step.
    let thief = app.browser();
    reaches_second_step(&thief, "boss");
    let r = code_step(&thief, "000000");
    assert!(r.is_login_redirect(), "{:?}", r.status);
    assert!(r.clears("__Host-pending"));
    assert_eq!(app.audit_kinds("2fa_failure").len(), 1);
    let r = app.browser().login("boss", PASSWORD, false);
    assert_eq!(r.status, Status::TooManyRequests);
    let second_wait = retry_after(&r);
    assert!(second_wait > wait, "{second_wait} after {wait}");
    // That wait ends too.
    app.state().clock().advance(second_wait);
    let b = app.browser();
    reaches_second_step(&b, "boss");
    assert_eq!(
        code_step(&b, &fresh_code(&app, &secret)).status,
        Status::SeeOther
    );
}

#[test]
fn a_strangers_failure_between_the_owners_password_and_code_does_not_refuse_the_code() {
    let app = two_factor_app();
    let (secret, _) = boss_after_a_strangers_wait(&app);
    // The owner's password is right: the code is awaited.
    let b = app.browser();
    reaches_second_step(&b, "boss");
    // Meanwhile one more wrong password from the stranger starts a new wait for the name.
    let stranger = app.browser();
    assert_eq!(
        stranger.login("boss", WRONG, false).status,
        Status::Unauthorized
    );
    assert_eq!(
        stranger.login("boss", WRONG, false).status,
        Status::TooManyRequests
    );
    // The owner's right code still signs in (and ends the stranger's wait).
    let r = code_step(&b, &fresh_code(&app, &secret));
    assert_eq!(r.status, Status::SeeOther, "{:?} {}", r.status, r.body);
    assert_eq!(r.location(), "/account");
    assert!(!r.set_cookies("__Host-access").is_empty());
}

#[test]
fn strangers_at_the_name_take_no_place_of_the_owners_session_known_device_or_second_step() {
    let app = two_factor_app();
    let (_, owner) = app.signed_in("alice", Role::User);
    let (secret, _) = enrol(&app, &owner);
    // Strangers' attempts at the name fill every place it has (as a flood would).
    let held: Vec<_> = (0..8)
        .filter_map(|_| app.state().in_flight().enter("alice"))
        .collect();
    assert!(!held.is_empty() && app.state().in_flight().enter("alice").is_none());
    // The owner's live session still confirms.
    let page = owner.get("/reauth?next=%2Faccount");
    let csrf = hidden(&page.body, "csrf_token");
    let r = owner.post(
        "/reauth",
        &format!(
            "password={}&code={}&next=%2Faccount&csrf_token={csrf}",
            enc(PASSWORD),
            fresh_code(&app, &secret)
        ),
    );
    assert_eq!(r.status, Status::SeeOther, "{:?} {}", r.status, r.body);
    // A browser that signed in before (its device cookie) signs in, code and all.
    let token = owner.token("/logout");
    owner.post("/logout", &format!("csrf_token={token}"));
    let r = owner.login("alice", PASSWORD, false);
    assert!(r.location().starts_with("/login/2fa"), "{:?}", r.status);
    app.state().clock().advance(30); // the next TOTP step: the last one was used above
    let r = code_step(&owner, &fresh_code(&app, &secret));
    assert_eq!(r.status, Status::SeeOther, "{:?} {}", r.status, r.body);
    // A new browser is one of the strangers: it waits for a place.
    assert_eq!(
        app.browser().login("alice", PASSWORD, false).status,
        Status::TooManyRequests
    );
    drop(held);
}

// 2. A stranger's lockout does not reach into the owner's live session.

#[test]
fn after_a_strangers_lockout_the_live_session_still_confirms_and_changes_its_password() {
    let app = two_factor_app();
    let (_, owner) = app.signed_in("alice", Role::User);
    let (secret, _) = enrol(&app, &owner);
    strangers_lockout(&app, "alice");
    // "Confirm it's you" with the right password and code.
    let page = owner.get("/reauth?next=%2Faccount%2F2fa");
    assert_eq!(page.status, Status::Ok);
    let csrf = hidden(&page.body, "csrf_token");
    let code = fresh_code(&app, &secret);
    let r = owner.post(
        "/reauth",
        &format!(
            "password={}&code={code}&next=%2Faccount%2F2fa&csrf_token={csrf}",
            enc(PASSWORD)
        ),
    );
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), "/account/2fa");
    // The password form with the right current password.
    let new = "a brand new passphrase of hers";
    let change = |current: &str| {
        let token = owner.token("/account/password");
        owner.post(
            "/account/password",
            &format!(
                "current={}&password={}&confirm={}&csrf_token={token}",
                enc(current),
                enc(new),
                enc(new)
            ),
        )
    };
    let r = change(PASSWORD);
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(r.location(), "/account?notice=password_changed");
    // The stranger's wait still stands for browsers the account does not know.
    assert_eq!(
        app.browser().login("alice", new, false).status,
        Status::TooManyRequests
    );
    // Wrong current passwords are still counted: four refused, the fifth ends the session.
    for _ in 0..4 {
        assert_eq!(change(WRONG).status, Status::UnprocessableEntity);
    }
    let r = change(WRONG);
    assert!(r.is_login_redirect(), "{:?}", r.status);
    assert!(r.clears("__Host-access"));
    owner.drop_cookie("__Host-access");
    assert!(owner.get("/dashboard").is_login_redirect());
}

#[test]
fn wrong_confirmations_in_a_live_session_are_throttled_and_count_for_the_name() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    let (_, owner) = app.signed_in("alice", Role::User);
    strangers_lockout(&app, "alice");
    let page = owner.get("/reauth?next=%2Faccount");
    let csrf = hidden(&page.body, "csrf_token");
    let reauth = |password: &str| {
        owner.post(
            "/reauth",
            &format!(
                "password={}&next=%2Faccount&csrf_token={csrf}",
                enc(password)
            ),
        )
    };
    assert_eq!(reauth(PASSWORD).status, Status::SeeOther);
    let before = throttle_status(app.state(), "alice");
    for _ in 0..4 {
        assert_eq!(reauth(WRONG).status, Status::Unauthorized);
    }
    assert_eq!(
        throttle_status(app.state(), "alice").0,
        before.0 + 4,
        "each wrong one counts for the name too"
    );
    let r = reauth(WRONG);
    assert!(r.is_login_redirect(), "{:?}", r.status);
    assert_eq!(app.audit_kinds("reauth_failure").len(), 5);
}

// 3. A correct password never starts or prolongs a wait.

#[test]
fn a_correct_password_never_extends_a_wait() {
    let app = two_factor_app();
    let (_, owner) = app.signed_in("boss", Role::Admin);
    let (secret, _) = enrol(&app, &owner);
    strangers_lockout(&app, "boss");
    let first = app.browser().login("boss", PASSWORD, false);
    assert_eq!(first.status, Status::TooManyRequests);
    let w1 = retry_after(&first);
    app.state().clock().advance(10);
    let second = app.browser().login("boss", PASSWORD, false);
    assert_eq!(second.status, Status::TooManyRequests);
    let w2 = retry_after(&second);
    assert!(w2 <= w1 - 10, "the wait grew from {w1} to {w2}");
    app.state().clock().advance(w2);
    // Right passwords from two new browsers, one after the other: neither starts a wait
    // for the other, nor for its own code step.
    let (a, b) = (app.browser(), app.browser());
    for br in [&a, &b] {
        let r = br.login("boss", PASSWORD, false);
        assert_eq!(r.status, Status::SeeOther, "{:?}", r.header("Retry-After"));
        assert!(r.location().starts_with("/login/2fa"));
    }
    assert_eq!(
        code_step(&a, &fresh_code(&app, &secret)).status,
        Status::SeeOther
    );
    assert_eq!(
        code_step(&b, &fresh_code(&app, &secret)).status,
        Status::SeeOther
    );
}

#[test]
fn a_correct_password_without_a_second_factor_ends_the_run_after_the_wait() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    app.create_user("alice", Role::User);
    let wait = strangers_lockout(&app, "alice");
    let r = app.browser().login("alice", PASSWORD, false);
    assert_eq!(r.status, Status::TooManyRequests);
    assert!(retry_after(&r) <= wait);
    app.state().clock().advance(wait);
    let r = app.browser().login("alice", PASSWORD, false);
    assert_eq!(r.status, Status::SeeOther);
    assert_eq!(r.location(), "/dashboard");
    assert_eq!(throttle_status(app.state(), "alice"), (0, None));
}

// 4. Parallel guesses are all counted, at every step.

/// Gives account `id` a second factor directly; returns its secret.
fn give_second_factor(app: &App, id: i64) -> Vec<u8> {
    let secret = gatehouse::second_factor::totp::new_secret().unwrap();
    let sealed = app
        .vault()
        .seal(&secret, &gatehouse::second_factor::secret_context(id))
        .unwrap();
    app.db()
        .run_blocking(move |c| {
            use diesel::prelude::*;
            use gatehouse::db::schema::accounts::dsl::*;
            diesel::update(accounts.find(id))
                .set((totp_secret.eq(sealed), totp_enabled_at.eq(1)))
                .execute(c)?;
            Ok(())
        })
        .unwrap();
    secret
}

fn audit_count(app: &App, kind: &str) -> usize {
    let kind = kind.to_string();
    app.db()
        .run_blocking(move |c| gatehouse::audit::search(c, None, Some(&kind), None, 100))
        .unwrap()
        .0
        .len()
}

#[test]
fn parallel_wrong_passwords_are_all_counted() {
    with_async_app(
        |f| f.merge(("address_failures", 1000)),
        |client, _dir| async move {
            let app = async_state(&client);
            app.create_user("alice", Role::User, PASSWORD).unwrap();
            let (cookie, token) = async_form(&client, "/login").await;
            let attempts = (0..20).map(|_| {
                async_post(
                    &client,
                    "/login",
                    login_body("alice", WRONG, &token),
                    vec![cookie.clone()],
                )
            });
            let answers = futures::future::join_all(attempts).await;
            let refused = answers
                .iter()
                .filter(|a| a.status == Status::Unauthorized)
                .count();
            assert!(answers
                .iter()
                .all(|a| [Status::Unauthorized, Status::TooManyRequests].contains(&a.status)));
            let (_, wrong) = app.hasher().verifications();
            assert_eq!(wrong as usize, refused, "every checked password answered");
            assert!(refused <= 5, "{refused} wrong passwords checked");
            assert_eq!(audit_count(app, "login_failure"), refused);
            assert_eq!(
                throttle_status(app, "alice").0 as usize,
                refused,
                "every checked one is counted"
            );
        },
    );
}

#[test]
fn parallel_wrong_codes_at_the_second_step_are_all_counted() {
    with_async_app(
        |f| f.merge(("address_failures", 1000)),
        |client, _dir| async move {
            let app = async_state(&client);
            let id = app.create_user("alice", Role::User, PASSWORD).unwrap().id;
            give_second_factor(app, id);
            let (cookie, token) = async_form(&client, "/login").await;
            let r = async_post(
                &client,
                "/login",
                login_body("alice", PASSWORD, &token),
                vec![cookie.clone()],
            )
            .await;
            assert_eq!(r.status, Status::SeeOther);
            let pending = r
                .cookies
                .iter()
                .find(|c| c.name() == "__Host-pending")
                .unwrap()
                .clone();
            assert_eq!(throttle_status(app, "alice").0, 0);
            let attempts = (0..20).map(|_| {
                async_post(
                    &client,
                    "/login/2fa",
                    format!("code=000000&csrf_token={token}"),
                    vec![cookie.clone(), pending.clone()],
                )
            });
            let answers = futures::future::join_all(attempts).await;
            for a in &answers {
                assert!(
                    [Status::Unauthorized, Status::TooManyRequests].contains(&a.status)
                        || (a.status == Status::SeeOther && a.location.starts_with("/login")),
                    "{} {}",
                    a.status,
                    a.location
                );
            }
            let failures = audit_count(app, "2fa_failure");
            let wrong = answers
                .iter()
                .filter(|a| a.status == Status::Unauthorized)
                .count();
            let (counted, _) = throttle_status(app, "alice");
            assert!(
                (1..=5).contains(&failures),
                "{failures} wrong codes checked"
            );
            assert!(wrong <= failures);
            assert!(
                failures <= counted as usize && counted <= 5,
                "{failures} wrong codes, {counted} counted"
            );
        },
    );
}

async fn parallel_reauths(
    client: &rocket::local::asynchronous::Client,
    cookies: &[rocket::http::Cookie<'static>],
    password: &str,
    code: &str,
) -> Vec<AsyncResp> {
    let page = client
        .get("/reauth?next=%2Faccount")
        .cookies(cookies.to_vec())
        .dispatch()
        .await;
    let token = csrf_token(&page.into_string().await.unwrap());
    let attempts = (0..20).map(|_| {
        async_post(
            client,
            "/reauth",
            format!(
                "password={}&code={code}&next=%2Faccount&csrf_token={token}",
                enc(password)
            ),
            cookies.to_vec(),
        )
    });
    futures::future::join_all(attempts).await
}

#[test]
fn parallel_wrong_confirmations_are_all_counted() {
    with_async_app(
        |f| f.merge(("address_failures", 1000)),
        |client, _dir| async move {
            let app = async_state(&client);
            app.create_user("alice", Role::User, PASSWORD).unwrap();
            let cookies = async_sign_in(&client, "alice").await;
            let before = app.hasher().verifications().1;
            let answers = parallel_reauths(&client, &cookies, WRONG, "").await;
            let wrong = (app.hasher().verifications().1 - before) as usize;
            let failures = audit_count(app, "reauth_failure");
            assert!(wrong <= 5, "{wrong} wrong passwords checked");
            assert_eq!(failures, wrong);
            assert_eq!(throttle_status(app, "alice").0 as usize, failures);
            assert!(answers
                .iter()
                .all(|a| a.status != Status::SeeOther || a.location.starts_with("/login")));
        },
    );
}

#[test]
fn parallel_wrong_codes_at_a_confirmation_are_all_counted() {
    with_async_app(
        |f| f.merge(("address_failures", 1000)),
        |client, _dir| async move {
            let app = async_state(&client);
            let id = app.create_user("alice", Role::User, PASSWORD).unwrap().id;
            let cookies = async_sign_in(&client, "alice").await;
            give_second_factor(app, id);
            let answers = parallel_reauths(&client, &cookies, PASSWORD, "000000").await;
            let failures = audit_count(app, "reauth_failure");
            assert!(
                (1..=5).contains(&failures),
                "{failures} wrong codes checked"
            );
            assert_eq!(throttle_status(app, "alice").0 as usize, failures);
            assert!(answers
                .iter()
                .all(|a| a.status != Status::SeeOther || a.location.starts_with("/login")));
            assert_eq!(audit_count(app, "reauth"), 0);
        },
    );
}
