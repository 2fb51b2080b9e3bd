//! Rows that matter for a while are not kept longer (issue 19): failure counts go once
//! their hour and their wait are over, an account keeps a few pending second steps at
//! most, and the prune works through everything due in small transactions; ended
//! sessions, old tokens and counts are pruned (the audit log later); an account keeps at
//! most `max_sessions`.

use crate::common::*;
use crate::second_factor::{code_step, enrol, fresh_code};
use gatehouse::accounts::{self, Role};
use gatehouse::retention::Batches;
use rocket::http::Status;

const WRONG: &str = "not the password at all";

fn rows(app: &TestApp, table: &'static str) -> i64 {
    app.state()
        .db()
        .run_blocking(move |c| {
            use diesel::prelude::*;
            use gatehouse::db::schema::*;
            Ok(match table {
                "login_attempts" => login_attempts::table.count().get_result(c)?,
                "pending_sign_ins" => pending_sign_ins::table.count().get_result(c)?,
                "sessions" => sessions::table.count().get_result(c)?,
                "refresh_tokens" => refresh_tokens::table.count().get_result(c)?,
                "audit_events" => audit_events::table.count().get_result(c)?,
                _ => unreachable!(),
            })
        })
        .unwrap()
}

fn prune(app: &TestApp, batches: Batches) -> gatehouse::retention::Pruned {
    let (now, keep) = (app.state().now(), app.state().retention());
    app.state()
        .db()
        .run_blocking(move |c| gatehouse::retention::prune_in(c, now, &keep, batches))
        .unwrap()
}

fn small(rows: i64) -> Batches {
    Batches {
        rows,
        pause: std::time::Duration::ZERO,
    }
}

#[test]
fn failure_counts_go_once_their_hour_and_their_wait_are_over() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    app.create_user("victim", Role::User);
    for i in 0..20 {
        let r = app.browser().login(&format!("random{i}"), WRONG, false);
        assert_eq!(r.status, Status::Unauthorized);
    }
    // A run of failures that starts a wait.
    for _ in 0..6 {
        app.browser().login("victim", WRONG, false);
    }
    assert_eq!(rows(&app, "login_attempts"), 21);
    app.state().clock().advance(3_000);
    prune(&app, small(500));
    assert_eq!(rows(&app, "login_attempts"), 21, "inside their hour: kept");
    app.state().clock().advance(600);
    let pruned = prune(&app, small(500));
    assert_eq!(pruned.failure_counts, 21);
    assert_eq!(
        rows(&app, "login_attempts"),
        0,
        "an hour on, nothing is kept"
    );
    // And the victim signs in as before.
    assert_eq!(
        app.browser().login("victim", PASSWORD, false).status,
        Status::SeeOther
    );
}

#[test]
fn a_wait_that_outlasts_the_hour_keeps_its_row() {
    let app = app_with(|f| {
        f.merge(("address_failures", 1000))
            .merge(("lockout_base_wait", 7_200))
            .merge(("lockout_max_wait", 7_200))
    });
    app.create_user("victim", Role::User);
    for _ in 0..5 {
        app.browser().login("victim", WRONG, false);
    }
    app.state().clock().advance(3_700);
    prune(&app, small(500));
    assert_eq!(rows(&app, "login_attempts"), 1, "its wait still runs");
    assert_eq!(
        app.browser().login("victim", PASSWORD, false).status,
        Status::TooManyRequests
    );
    app.state().clock().advance(3_600);
    prune(&app, small(500));
    assert_eq!(rows(&app, "login_attempts"), 0);
}

#[test]
fn an_account_keeps_at_most_five_pending_second_steps() {
    let app = app();
    let (_, b) = app.signed_in("alice", Role::User);
    let (secret, _) = enrol(&app, &b);
    let steps: Vec<_> = (0..8)
        .map(|_| {
            app.state().clock().advance(1); // "oldest" is to the second
            let other = app.browser();
            let r = other.login("alice", PASSWORD, false);
            assert!(r.location().starts_with("/login/2fa"), "{}", r.location());
            other
        })
        .collect();
    assert_eq!(rows(&app, "pending_sign_ins"), 5, "the oldest were dropped");
    // The newest finishes; the oldest no longer can.
    let r = code_step(&steps[7], &fresh_code(&app, &secret));
    assert_eq!(r.status, Status::SeeOther, "{}", r.body);
    assert_eq!(steps[7].get("/dashboard").status, Status::Ok);
    let r = code_step(&steps[0], &fresh_code(&app, &secret));
    assert!(
        r.set_cookies("__Host-access").is_empty(),
        "{}",
        r.location()
    );
    assert!(steps[0].get("/dashboard").is_login_redirect());
}

#[test]
fn a_prune_deletes_everything_due_over_several_batches() {
    let app = app_with(|f| f.merge(("address_failures", 1000)));
    for i in 0..10 {
        app.browser().login(&format!("nobody{i}"), WRONG, false);
    }
    for i in 0..4 {
        let (_, b) = app.signed_in(&format!("user{i}"), Role::User);
        for _ in 0..3 {
            b.drop_cookie("__Host-access");
            assert_eq!(b.get("/dashboard").status, Status::Ok);
        }
        let token = b.token("/logout");
        b.post("/logout", &format!("csrf_token={token}"));
    }
    let audit = rows(&app, "audit_events");
    assert!(rows(&app, "refresh_tokens") >= 8);
    app.state().clock().advance(31 * 86_400);
    let pruned = prune(&app, small(3));
    assert_eq!(pruned.sessions, 4);
    assert_eq!(pruned.failure_counts, 14, "ten strangers and four owners");
    assert!(pruned.batches >= 10, "{pruned:?}");
    for table in ["sessions", "refresh_tokens", "login_attempts"] {
        assert_eq!(rows(&app, table), 0, "{table} left behind");
    }
    assert_eq!(
        rows(&app, "audit_events"),
        audit,
        "the audit log is kept longer"
    );
    app.state().clock().advance(335 * 86_400);
    assert_eq!(prune(&app, small(3)).audit_events as i64, audit);
    assert_eq!(rows(&app, "audit_events"), 0);
}

// Nothing grows without bound.

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
            .db()
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
            .db()
            .run_blocking(move |c| gatehouse::retention::prune(c, now, &keep))
            .unwrap()
    };
    // Nothing is old enough yet.
    assert_eq!(prune(&app).sessions, 0);
    app.state().clock().advance(31 * 86_400);
    let pruned = prune(&app);
    assert!(pruned.sessions >= 1 && pruned.refresh_tokens >= 2 && pruned.failure_counts >= 1);
    let after = count(&app);
    assert_eq!((after.0, after.1, after.2), (0, 0, 0));
    assert_eq!(after.3, before.3, "the audit log is kept longer");
    app.state().clock().advance(335 * 86_400);
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
            app.state().clock().advance(1); // each a second younger
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
        .db()
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
