//! Promises that must hold when requests race or an attacker chooses the order: parallel
//! guessing, sign-ins in flight, the current-password check, lockout abuse, rehashing,
//! sign-up abuse, pre-sign-in form tokens, id reuse, grace-window replay, the last
//! administrator, hidden characters, /metrics behind a proxy, growth, token lifetimes,
//! origins and the setup token in logs. Concurrent cases release their requests together.

use crate::common::*;
use gatehouse::accounts::{self, Role};
use rocket::http::{Header, Status};

const WRONG: &str = "not the password at all, sorry";

pub(crate) fn login_body(name: &str, password: &str, token: &str) -> String {
    format!(
        "username={}&password={}&csrf_token={token}",
        enc(name),
        enc(password)
    )
}

// 1. Parallel guessing is counted.

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
            let (_, wrong) = app.hasher.verifications();
            let threshold = app.settings.throttle.lockout_after as u64;
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
            .map(|c| async_state(c).hasher.verifications().1)
            .sum();
        assert!(
            wrong <= 5,
            "{wrong} wrong passwords verified across instances"
        );
        let locked = async_state(&clients[0])
            .db
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
            let (verified, _) = async_state(&client).hasher.verifications();
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

// 2. A sign-in in flight cannot outlive what happened meanwhile.

/// Finishes a sign-in whose password check saw `checked`, as the sign-in route does.
fn finish_sign_in(app: &TestApp, checked: &accounts::Account) -> bool {
    let state = app.state();
    let checked = checked.clone();
    let now = state.now();
    let started = state
        .db
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
            };
            gatehouse::sessions::start(c, &new, now)
        })
        .unwrap()
        .0;
    matches!(started, gatehouse::sessions::Started::Session { .. })
}

fn live_sessions(app: &TestApp, id: i64) -> usize {
    let now = app.state().now();
    app.state()
        .db
        .run_blocking(move |c| gatehouse::sessions::store::live_for_account(c, id, now))
        .unwrap()
        .len()
}

fn account(app: &TestApp, id: i64) -> accounts::Account {
    app.state()
        .db
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
        .db
        .run_blocking(move |c| accounts::bump_version(c, id))
        .unwrap();
    alice.drop_cookie("__Host-access");
    assert!(alice.get("/dashboard").is_login_redirect());
    assert_eq!(live_sessions(&app, id), 0);
}

// 3. The current-password check is not a free oracle.

fn change_password(b: &Browser<'_>, current: &str) -> Resp {
    let token = b.token("/account/password");
    let new = "another long new passphrase";
    b.post(
        "/account/password",
        &format!(
            "current={}&password={}&confirm={}&csrf_token={token}",
            enc(current),
            enc(new),
            enc(new)
        ),
    )
}

#[test]
fn wrong_current_passwords_count_are_audited_and_end_the_session_at_the_threshold() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    let (_, thief) = app.signed_in("alice", Role::User);
    for _ in 0..4 {
        assert_eq!(
            change_password(&thief, WRONG).status,
            Status::UnprocessableEntity
        );
    }
    assert_eq!(app.audit_kinds("password_change_failure").len(), 4);
    // The fifth reaches the threshold: the session ends.
    let r = change_password(&thief, WRONG);
    assert!(r.is_login_redirect(), "{:?}", r.status);
    assert!(r.clears("__Host-access"));
    assert_eq!(app.audit_kinds("lockout").len(), 1);
    thief.drop_cookie("__Host-access");
    assert!(thief.get("/dashboard").is_login_redirect());
    // And the account waits, as after five wrong sign-ins.
    assert_eq!(
        app.browser().login("alice", PASSWORD, false).status,
        Status::TooManyRequests
    );
}

#[test]
fn parallel_wrong_current_passwords_are_all_counted() {
    with_async_app(
        |f| f.merge(("address_failures", 1000)),
        |client, _dir| async move {
            let app = async_state(&client);
            app.create_user("alice", Role::User, PASSWORD).unwrap();
            let (cookie, token) = async_form(&client, "/login").await;
            let r = async_post(
                &client,
                "/login",
                login_body("alice", PASSWORD, &token),
                vec![cookie],
            )
            .await;
            assert_eq!(r.status, Status::SeeOther);
            let cookies = r.cookies;
            let page = client
                .get("/account/password")
                .cookies(cookies.clone())
                .dispatch()
                .await;
            let token = csrf_token(&page.into_string().await.unwrap());
            let before = app.hasher.verifications().1;
            let attempts = (0..30).map(|_| {
                async_post(
                    &client,
                    "/account/password",
                    format!(
                        "current={}&password=x&confirm=x&csrf_token={token}",
                        enc(WRONG)
                    ),
                    cookies.clone(),
                )
            });
            futures::future::join_all(attempts).await;
            let wrong = app.hasher.verifications().1 - before;
            assert!(wrong <= 5, "{wrong} wrong current passwords verified");
        },
    );
}

// 4. No admin resets their own password through the admin page.

#[test]
fn an_admin_cannot_reset_their_own_password_on_the_admin_page() {
    let app = app();
    let (id, boss) = app.signed_in("boss", Role::Admin);
    app.create_user("other-admin", Role::Admin);
    let r = boss.post(
        &format!("/admin/users/{id}/reset-password"),
        &format!(
            "password={}&csrf_token={}",
            enc("a password chosen by a thief"),
            boss.token("/logout")
        ),
    );
    assert_eq!(r.status, Status::Forbidden);
    assert!(!boss
        .get(&format!("/admin/users/{id}"))
        .body
        .contains("reset-password\""));
    assert_eq!(
        app.browser().login("boss", PASSWORD, false).status,
        Status::SeeOther,
        "the password is unchanged"
    );
    assert!(app.audit_kinds("admin_password_reset").is_empty());
}

// 5. Lockout is not a weapon.

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

// 6. No timing leak after bcrypt_cost changes.

#[test]
fn hashes_made_at_another_cost_are_renewed_at_the_next_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let cost_of = |app: &gatehouse::App| {
        app.db
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

// 7. Open sign-up is rate-limited, and "taken" is throttled like a failure.

fn signup(b: &Browser<'_>, name: &str) -> Resp {
    let token = b.token("/signup");
    b.post(
        "/signup",
        &format!(
            "username={name}&password={pw}&confirm={pw}&csrf_token={token}",
            pw = enc(PASSWORD)
        ),
    )
}

#[test]
fn sign_ups_per_address_are_limited() {
    let app = app_with(|f| {
        f.merge(("signup", "open"))
            .merge(("signup_address_limit", 3))
    });
    let b = app.browser();
    for i in 0..3 {
        assert_eq!(
            signup(&b, &format!("new-user-{i}")).status,
            Status::SeeOther
        );
    }
    let r = signup(&b, "new-user-3");
    assert_eq!(r.status, Status::TooManyRequests);
    assert!(r.header("Retry-After").is_some());
    assert_eq!(
        app.browser().login("new-user-3", PASSWORD, false).status,
        Status::Unauthorized
    );
}

#[test]
fn parallel_sign_ups_from_one_address_stop_at_the_limit() {
    with_async_app(
        |f| {
            f.merge(("signup", "open"))
                .merge(("signup_address_limit", 3))
        },
        |client, _dir| async move {
            let (cookie, token) = async_form(&client, "/signup").await;
            let attempts = (0..12).map(|i| {
                async_post(
                    &client,
                    "/signup",
                    format!(
                        "username=racer{i:02}&password={pw}&confirm={pw}&csrf_token={token}",
                        pw = enc(PASSWORD)
                    ),
                    vec![cookie.clone()],
                )
            });
            let answers = futures::future::join_all(attempts).await;
            let created = answers
                .iter()
                .filter(|a| a.status == Status::SeeOther)
                .count();
            assert_eq!(created, 3);
        },
    );
}

#[test]
fn names_found_taken_at_sign_up_count_as_failures_of_the_address() {
    let app = app_with(|f| {
        f.merge(("signup", "open"))
            .merge(("address_failures", 3))
            .merge(("signup_address_limit", 100))
    });
    for name in ["alice", "bobby", "carol"] {
        app.create_user(name, Role::User);
    }
    let b = app.browser();
    for name in ["alice", "bobby", "carol"] {
        assert_eq!(signup(&b, name).status, Status::UnprocessableEntity);
    }
    // Enumeration by sign-up has used up the address's failures: no more probing, and
    // no password guessing either.
    assert_eq!(signup(&b, "dave").status, Status::TooManyRequests);
    assert_eq!(
        app.browser().login("alice", WRONG, false).status,
        Status::TooManyRequests
    );
}

// 8. A pre-sign-in token is good only for pre-sign-in forms.

#[test]
fn the_login_page_token_does_not_work_once_signed_in() {
    let app = app();
    app.create_user("bobby", Role::User);
    let b = app.browser();
    let pre_token = b.token("/login");
    let pre_cookie = b.cookie("__Host-presession").unwrap();
    let r = b.post("/login", &login_body("bobby", PASSWORD, &pre_token));
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

// 9. Account ids are never reused.

#[test]
fn a_new_account_never_gets_a_deleted_accounts_id() {
    let app = app();
    let (_, boss) = app.signed_in("boss", Role::Admin);
    let gone = app.create_user("leaving", Role::User);
    let r = boss.post(
        &format!("/admin/users/{gone}/delete"),
        &format!("confirm=leaving&csrf_token={}", boss.token("/logout")),
    );
    assert_eq!(r.status, Status::SeeOther);
    let next = app.create_user("arriving", Role::User);
    assert!(next > gone, "id {next} after deleted {gone}");
    let history = boss.get(&format!("/admin/users/{next}"));
    assert!(!history.body.contains("admin_account_deleted"));
}

// 10. The grace window cannot be replayed by a thief.

#[test]
fn a_stolen_refresh_token_inside_the_grace_window_is_theft_from_another_client() {
    let app = app();
    let (_, alice) = app.signed_in("alice", Role::User);
    alice.drop_cookie("__Host-access");
    // The thief took only the refresh cookie.
    let thief = app.browser();
    thief.set_cookie("__Host-refresh", &alice.cookie("__Host-refresh").unwrap());
    assert_eq!(alice.get("/dashboard").status, Status::Ok); // alice renews
    let r = thief.get("/dashboard");
    assert!(r.is_login_redirect(), "grace answered a thief");
    let events = app.audit_kinds("refresh_token_reuse");
    assert_eq!(events.len(), 1);
    assert!(events[0].detail.contains("another client"));
    alice.drop_cookie("__Host-access");
    assert!(alice.get("/dashboard").is_login_redirect(), "session ended");
}

#[test]
fn twenty_tabs_restored_together_all_stay_signed_in_and_nothing_is_called_theft() {
    with_async_app(
        |f| f,
        |client, _dir| async move {
            async_state(&client)
                .create_user("alice", Role::User, PASSWORD)
                .unwrap();
            let cookies = async_sign_in(&client, "alice").await;
            let refresh = cookies
                .iter()
                .find(|c| c.name() == "__Host-refresh")
                .expect("a refresh cookie")
                .clone();
            // The browser restores 20 tabs at once: none has an access cookie, all hold
            // the same refresh token, and all are released together.
            let tabs = (0..20).map(|_| client.get("/dashboard").cookie(refresh.clone()).dispatch());
            let answers = futures::future::join_all(tabs).await;
            let mut rotated = 0;
            for r in &answers {
                assert_eq!(r.status(), Status::Ok, "a tab was signed out");
                assert!(
                    r.cookies().get("__Host-access").is_some(),
                    "every tab gets an access cookie"
                );
                if r.cookies().get("__Host-refresh").is_some() {
                    rotated += 1;
                }
            }
            assert_eq!(
                rotated, 1,
                "one rotation, the other tabs in the grace window"
            );
            let app = async_state(&client);
            let reuse = app
                .db
                .run_blocking(|c| {
                    gatehouse::audit::search(c, None, Some("refresh_token_reuse"), None, 10)
                })
                .unwrap()
                .0;
            assert!(reuse.is_empty(), "recorded as theft: {reuse:?}");
            let notices: i64 = app
                .db
                .run_blocking(|c| {
                    use diesel::prelude::*;
                    use gatehouse::db::schema::outbox;
                    Ok(outbox::table
                        .filter(outbox::kind.eq(gatehouse::outbox::kind::REFRESH_REUSE))
                        .count()
                        .get_result(c)?)
                })
                .unwrap();
            assert_eq!(notices, 0, "a theft notice was queued");
        },
    );
}

// 11. The last active administrator stays, even with two administrators at once.

/// Signs `name` in through the asynchronous client; returns the cookies a browser keeps.
pub(crate) async fn async_sign_in(
    client: &rocket::local::asynchronous::Client,
    name: &str,
) -> Vec<rocket::http::Cookie<'static>> {
    let (cookie, token) = async_form(client, "/login").await;
    let r = async_post(
        client,
        "/login",
        login_body(name, PASSWORD, &token),
        vec![cookie],
    )
    .await;
    assert_eq!(r.status, Status::SeeOther, "sign-in of {name}");
    r.cookies
}

async fn async_session_token(
    client: &rocket::local::asynchronous::Client,
    cookies: &[rocket::http::Cookie<'static>],
) -> String {
    let page = client
        .get("/logout")
        .cookies(cookies.to_vec())
        .dispatch()
        .await;
    csrf_token(&page.into_string().await.unwrap_or_default())
}

fn active_admins(app: &gatehouse::App) -> Vec<i64> {
    app.db
        .run_blocking(|c| {
            use diesel::prelude::*;
            use gatehouse::db::schema::accounts::dsl::*;
            Ok(accounts
                .filter(role.eq("admin"))
                .filter(disabled.eq(false))
                .select(id)
                .load::<i64>(c)?)
        })
        .unwrap()
}

#[test]
fn two_admins_removing_each_other_at_once_leave_one_admin() {
    let dir = tempfile::tempdir().unwrap();
    let figment = figment(&dir);
    rocket::execute(async move {
        // Two instances on one database; on PostgreSQL their transactions truly overlap.
        let one =
            rocket::local::asynchronous::Client::untracked(gatehouse::rocket(figment.clone()))
                .await
                .unwrap();
        let two = rocket::local::asynchronous::Client::untracked(gatehouse::rocket(figment))
            .await
            .unwrap();
        let state = async_state(&one);
        for round in 0..8 {
            let (a, b) = (format!("admin-a{round}"), format!("admin-b{round}"));
            let ida = state.create_user(&a, Role::Admin, PASSWORD).unwrap().id;
            let idb = state.create_user(&b, Role::Admin, PASSWORD).unwrap().id;
            let ca = async_sign_in(&one, &a).await;
            let cb = async_sign_in(&two, &b).await;
            // Only these two are active administrators this round.
            for other in active_admins(state) {
                if other != ida && other != idb {
                    state
                        .db
                        .run_blocking(move |c| {
                            use diesel::prelude::*;
                            use gatehouse::db::schema::accounts::dsl::*;
                            diesel::update(accounts.find(other))
                                .set(disabled.eq(true))
                                .execute(c)?;
                            Ok(())
                        })
                        .unwrap();
                }
            }
            let (ta, tb) = (
                async_session_token(&one, &ca).await,
                async_session_token(&two, &cb).await,
            );
            // A disables B on one instance while B demotes A on the other.
            let (disable, demote) = (
                format!("/admin/users/{idb}/disable"),
                format!("/admin/users/{ida}/role"),
            );
            let (ra, rb) = futures::join!(
                async_post(&one, &disable, format!("csrf_token={ta}"), ca.clone()),
                async_post(
                    &two,
                    &demote,
                    format!("role=user&csrf_token={tb}"),
                    cb.clone()
                ),
            );
            let left = active_admins(state);
            assert_eq!(
                left.len(),
                1,
                "round {round}: administrators left {left:?} ({}, {})",
                ra.status,
                rb.status
            );
            // The one that lost is refused (403), or finds its own session ended (sent to
            // sign in or to confirm again); only one action goes through.
            let done = [&ra, &rb]
                .iter()
                .filter(|r| r.status == Status::SeeOther && r.location.contains("?notice="))
                .count();
            assert_eq!(
                done, 1,
                "round {round}: {} {} and {} {}",
                ra.status, ra.location, rb.status, rb.location
            );
        }
    });
}

// 12. Names are shown as written, never as code.

#[test]
fn bidi_and_format_characters_never_reach_a_page() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    let (_, boss) = app.signed_in("boss", Role::Admin);
    let tricky = "evil\u{202E}nimda\u{2066}\u{200B}";
    let b = app.browser();
    b.login(tricky, WRONG, false);
    let mut device = app.browser();
    device.headers.push(Header::new(
        "User-Agent",
        "Firefox \u{202E}(gnp.exe)\u{200D}",
    ));
    device.login("boss", PASSWORD, false);
    for page in ["/admin/audit", "/account"] {
        let body = if page == "/account" {
            device.get(page).body
        } else {
            boss.get(page).body
        };
        for c in ['\u{202E}', '\u{2066}', '\u{200B}', '\u{200D}'] {
            assert!(!body.contains(c), "{page} shows U+{:04X}", c as u32);
        }
    }
    let events = app.audit_kinds("login_failure");
    assert_eq!(events[0].subject_name.as_deref(), Some("evilnimda"));
    assert!(device
        .get("/account")
        .body
        .contains("<bdi>Firefox (gnp.exe)</bdi>"));
}

// 13. /metrics checks the real client address.

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

// 14. Nothing grows without bound.

#[test]
fn ended_sessions_old_tokens_and_counts_are_pruned_and_the_audit_log_later() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    let (id, alice) = app.signed_in("alice", Role::User);
    alice.drop_cookie("__Host-access");
    assert_eq!(alice.get("/dashboard").status, Status::Ok); // a used refresh token
    let token = alice.token("/logout");
    alice.post("/logout", &format!("csrf_token={token}"));
    app.browser().login("nobody", WRONG, false); // a failure count
    let count = |app: &TestApp| {
        app.state()
            .db
            .run_blocking(|c| {
                use diesel::prelude::*;
                use gatehouse::db::schema::*;
                Ok((
                    sessions::table.count().get_result::<i64>(c)?,
                    refresh_tokens::table.count().get_result::<i64>(c)?,
                    login_attempts::table.count().get_result::<i64>(c)?,
                    audit_events::table.count().get_result::<i64>(c)?,
                ))
            })
            .unwrap()
    };
    let before = count(&app);
    assert!(before.0 >= 1 && before.1 >= 2 && before.2 >= 1 && before.3 >= 3);
    let prune = |app: &TestApp| {
        let (now, keep) = (app.state().now(), app.state().retention());
        app.state()
            .db
            .run_blocking(move |c| gatehouse::retention::prune(c, now, &keep))
            .unwrap()
    };
    // Nothing is old enough yet.
    assert_eq!(prune(&app).sessions, 0);
    app.state().clock.advance(31 * 86_400);
    let pruned = prune(&app);
    assert!(pruned.sessions >= 1 && pruned.refresh_tokens >= 2 && pruned.failure_counts >= 1);
    let after = count(&app);
    assert_eq!((after.0, after.1, after.2), (0, 0, 0));
    assert_eq!(after.3, before.3, "the audit log is kept longer");
    app.state().clock.advance(335 * 86_400);
    assert!(prune(&app).audit_events >= 3);
    assert_eq!(count(&app).3, 0);
    let _ = id;
}

#[test]
fn an_account_keeps_at_most_max_sessions_and_the_oldest_end() {
    let app = app_with(|f| f.merge(("max_sessions", 3)));
    app.create_user("alice", Role::User);
    let browsers: Vec<_> = (0..4)
        .map(|i| {
            let b = app.browser();
            app.state().clock.advance(1); // each a second younger
            assert_eq!(
                b.login("alice", PASSWORD, false).status,
                Status::SeeOther,
                "{i}"
            );
            b
        })
        .collect();
    let id = app
        .state()
        .db
        .run_blocking(|c| accounts::find_by_username(c, "alice"))
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(live_sessions(&app, id), 3);
    assert!(
        browsers[0].get("/dashboard").is_login_redirect(),
        "the oldest ended"
    );
    for b in &browsers[1..] {
        assert_eq!(b.get("/dashboard").status, Status::Ok);
    }
}

// 15. Tighter token checks.

#[test]
fn access_tokens_living_longer_than_the_configured_lifetime_are_refused() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use hmac::{Hmac, KeyInit, Mac};
    let app = app();
    let (id, alice) = app.signed_in("alice", Role::User);
    let sid = {
        let now = app.state().now();
        app.state()
            .db
            .run_blocking(move |c| gatehouse::sessions::store::live_for_account(c, id, now))
            .unwrap()[0]
            .id
            .clone()
    };
    let forge = |lifetime: i64| {
        let t = app.state().now();
        let header = serde_json::json!({ "alg": "HS256", "typ": "JWT", "kid": "k1" });
        let claims = serde_json::json!({
            "iss": "gatehouse", "aud": "gatehouse", "sub": id.to_string(), "name": "alice",
            "sid": sid, "role": "user", "iat": t, "nbf": t, "exp": t + lifetime, "jti": "j"
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&[1u8; 32]).unwrap();
        mac.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    };
    let b = app.browser();
    b.set_cookie("__Host-access", &forge(300));
    assert_eq!(
        b.get("/dashboard").status,
        Status::Ok,
        "control: a normal lifetime"
    );
    let b = app.browser();
    b.set_cookie("__Host-access", &forge(30 * 86_400));
    assert!(b.get("/dashboard").is_login_redirect(), "a 30-day token");
    let _ = alice;
}

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
            &login_body("alice", PASSWORD, &token),
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

#[test]
fn the_setup_token_never_appears_in_the_request_log() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = {
        use std::process::{Command, Stdio};
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("ROCKET_DATABASE_URL", database_url(&dir))
            .env("ROCKET_DATA_DIR", dir.path())
            .env("ROCKET_PORT", port.to_string())
            .env("ROCKET_BCRYPT_COST", "4")
            .env("ROCKET_LOG_LEVEL", "normal")
            .env("ROCKET_CLI_COLORS", "false")
            .env(
                "ROCKET_JWT_KEYS",
                format!("[{{kid=\"k1\",secret=\"{KEY1_SECRET}\"}}]"),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    // Both outputs read as they come, so that the test can wait for a line.
    let (out, err) = (
        std::sync::Arc::new(std::sync::Mutex::new(String::new())),
        std::sync::Arc::new(std::sync::Mutex::new(String::new())),
    );
    let readers = [
        read_into(server.stdout.take().unwrap(), out.clone()),
        read_into(server.stderr.take().unwrap(), err.clone()),
    ];
    let agent = http_agent(std::time::Duration::from_secs(5));
    let base = format!("http://127.0.0.1:{port}");
    let started = comes_true(std::time::Duration::from_secs(10), || {
        agent.get(&format!("{base}/healthz")).call().is_ok()
    });
    assert!(started);
    let status = agent
        .get(&format!("{base}/setup?token=GuessedSetupToken1234&lang=en"))
        .call()
        .unwrap()
        .status();
    assert_eq!(status, 404);
    // The request's lines are logged, and the guessed token in none of them, however
    // long we wait.
    wait_until("the request is logged", || {
        out.lock().unwrap().contains("GET /setup")
    });
    stays(
        "the guessed token is never logged",
        std::time::Duration::from_millis(300),
        || {
            !out.lock().unwrap().contains("GuessedSetupToken1234")
                && !err.lock().unwrap().contains("GuessedSetupToken1234")
        },
    );
    let _ = server.kill();
    let _ = server.wait();
    for r in readers {
        r.join().unwrap();
    }
    let (out, err) = (out.lock().unwrap().clone(), err.lock().unwrap().clone());
    assert!(out.contains("GET /setup"), "the request is logged: {out}");
    assert!(!out.contains("GuessedSetupToken1234") && !err.contains("GuessedSetupToken1234"));
    // The real link was printed once, at start, as it must be; never again.
    let printed = err
        .split("token=")
        .nth(1)
        .map(|t| t.split_whitespace().next().unwrap_or_default().to_string())
        .unwrap_or_default();
    assert_eq!(printed.len(), 43, "the setup link at start: {err}");
    assert!(!out.contains(&printed));
}

/// Reads `from` into `into` as it comes, until it closes.
fn read_into(
    from: impl std::io::Read + Send + 'static,
    into: std::sync::Arc<std::sync::Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(from).lines().map_while(Result::ok) {
            let mut s = into.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    })
}

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
