//! The database going away under a running instance: pages answer 503 (never 500),
//! readiness fails while liveness holds, signed-in pages served from the access token
//! keep working, and everything recovers by itself when the database is back.
//!
//! It needs a server whose connections it can cut, so it runs in the PostgreSQL pass
//! (`GATEHOUSE_TEST_DATABASE_URL`, which CI sets); the SQLite pass says so and returns.

use std::time::{Duration, Instant};

use crate::common::*;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use gatehouse::accounts::Role;
use rocket::http::Status;

fn admin_connection() -> diesel::PgConnection {
    let url = std::env::var("GATEHOUSE_TEST_DATABASE_URL").unwrap();
    diesel::PgConnection::establish(&url).unwrap()
}

fn database_name(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

#[test]
fn database_outage_gives_503_then_recovers_without_a_restart() {
    if !on_postgres() {
        eprintln!("faults: runs in the PostgreSQL pass (set GATEHOUSE_TEST_DATABASE_URL)");
        return;
    }
    let app = app();
    let name = database_name(&database_url(&app.dir));
    let (_, alice) = app.signed_in("alice", Role::User);
    assert_eq!(alice.get("/readyz").status, Status::Ok);

    // Cut it off: no new connections, and the pool's connections are killed.
    let mut admin = admin_connection();
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
        ))
        .unwrap();

    assert_eq!(alice.get("/healthz").status, Status::Ok, "liveness holds");
    let ready = alice.get("/readyz");
    assert_eq!(ready.status, Status::ServiceUnavailable);
    assert!(ready.body.contains("Temporarily unavailable"));
    // The dashboard needs no database: still served from the access token.
    assert_eq!(alice.get("/dashboard").status, Status::Ok);
    // Pages that need the database say 503, never 500, and change nothing client-side.
    let r = alice.get("/account");
    assert_eq!(r.status, Status::ServiceUnavailable);
    let stranger = app.browser();
    let r = stranger.login("alice", PASSWORD, false);
    assert_eq!(
        r.status,
        Status::ServiceUnavailable,
        "sign-in during the outage"
    );
    // A refresh during the outage is 503 too, and keeps the cookies for later.
    let renewing = alice.copy();
    renewing.drop_cookie("__Host-access");
    let r = renewing.get("/dashboard");
    assert_eq!(r.status, Status::ServiceUnavailable);
    assert!(
        !r.clears("__Host-refresh"),
        "an outage must not sign people out"
    );

    // Back again: it recovers by itself.
    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .unwrap();
    let start = Instant::now();
    while alice.get("/readyz").status != Status::Ok {
        assert!(start.elapsed() < Duration::from_secs(20), "no recovery");
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "recovered {:?} after the database came back",
        start.elapsed()
    );
    assert_eq!(
        renewing.get("/dashboard").status,
        Status::Ok,
        "the kept refresh cookie works"
    );
    assert_eq!(
        app.browser().login("alice", PASSWORD, false).status,
        Status::SeeOther
    );
}
