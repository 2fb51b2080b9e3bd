//! A process that exits while other threads are inside PostgreSQL connections must exit
//! cleanly. libpq uses OpenSSL; left to initialise itself, OpenSSL registers an exit
//! handler that frees its state while those threads may still be using it, and the
//! process dies of SIGSEGV as it exits (seen once in CI, after every test had passed).
//!
//! Runs without the test harness: the parent runs copies of this binary as children,
//! each of which starts the app on PostgreSQL, keeps several threads busy with queries
//! and new connections, and calls `exit` in the middle of it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use std::process::Command;
use std::time::Duration;

const CHILD: &str = "GATEHOUSE_EXIT_RACE_DIR";
const CHILD_URL: &str = "GATEHOUSE_EXIT_RACE_URL";
const RUNS: usize = 40;

fn main() {
    if let Ok(dir) = std::env::var(CHILD) {
        child(std::path::Path::new(&dir));
    }
    if !common::on_postgres() {
        println!(
            "exit_race: PostgreSQL only (set GATEHOUSE_TEST_DATABASE_URL); nothing to do on SQLite"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // Made here, so that the children's first PostgreSQL connection is the app's own.
    let url = common::database_url_in(dir.path());
    let exe = std::env::current_exe().expect("own path");
    let mut failures = Vec::new();
    for run in 0..RUNS {
        let status = Command::new(&exe)
            .env(CHILD, dir.path())
            .env(CHILD_URL, &url)
            .env(
                "GATEHOUSE_EXIT_RACE_DELAY_MS",
                (20 + run * 7 % 90).to_string(),
            )
            .status()
            .expect("run the child");
        if !status.success() {
            failures.push(format!("run {run}: {status}"));
        }
    }
    assert!(
        failures.is_empty(),
        "children died as they exited: {failures:?}"
    );
    println!("exit_race: {RUNS} exits under PostgreSQL load, all clean");
}

fn child(dir: &std::path::Path) -> ! {
    let url = std::env::var(CHILD_URL).expect("the parent passes the database URL");
    let figment = common::figment_with_url(dir, &url);
    let app = gatehouse::App::start(&figment).expect("the app starts");
    for _ in 0..3 {
        let db = app.db().clone();
        std::thread::spawn(move || loop {
            let _ = db.run_blocking(|c| {
                c.batch_execute("SELECT pg_sleep(0.001)")
                    .map_err(gatehouse::error::Error::from)
            });
        });
    }
    for _ in 0..3 {
        let url = url.clone();
        std::thread::spawn(move || loop {
            if let Ok(mut c) = diesel::PgConnection::establish(&url) {
                let _ = c.batch_execute("SELECT 1");
            }
        });
    }
    let delay = std::env::var("GATEHOUSE_EXIT_RACE_DELAY_MS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(50);
    std::thread::sleep(Duration::from_millis(delay));
    std::process::exit(0)
}
