//! `gatehouse backup` of a live SQLite database during a stream of sign-ups and sign-ins,
//! restored into a fresh folder: every account committed before the backup began is
//! there. A restore refuses while a server uses the database.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::common::*;

fn command(db: &str, dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .current_dir(dir)
        .env("ROCKET_DATABASE_URL", db)
        .env("ROCKET_DATA_DIR", dir)
        .env(
            "ROCKET_JWT_KEYS",
            format!("[{{kid=\"k1\",secret=\"{KEY1_SECRET}\"}}]"),
        )
        .env("ROCKET_ENCRYPTION_KEY", KEY1_SECRET)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Signs up `name` and signs in; whether both went through.
fn sign_up_and_in(agent: &ureq::Agent, base: &str, name: &str) -> bool {
    let form = |path: &str| -> Option<(String, String)> {
        let mut page = agent.get(&format!("{base}{path}")).call().ok()?;
        let jar = cookie_header(&set_cookies(&page));
        Some((jar, csrf_token(&page.body_mut().read_to_string().ok()?)))
    };
    let post = |path: &str, jar: &str, body: String| {
        agent
            .post(&format!("{base}{path}"))
            .header("Cookie", jar)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(body)
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    let password = enc("a long and unguessable passphrase");
    let Some((jar, token)) = form("/signup") else {
        return false;
    };
    let up = post(
        "/signup",
        &jar,
        format!("username={name}&password={password}&confirm={password}&csrf_token={token}"),
    );
    let Some((jar, token)) = form("/login") else {
        return false;
    };
    let signed_in = post(
        "/login",
        &jar,
        format!("username={name}&password={password}&csrf_token={token}"),
    );
    up == 303 && signed_in == 303
}

#[test]
fn a_backup_taken_while_serving_restores_every_committed_account() {
    if on_postgres() {
        // PostgreSQL is backed up with pg_dump; the command says so.
        let dir = tempfile::tempdir().unwrap();
        let db = database_url(&dir);
        let (ok, out) = command(&db, dir.path(), &["backup", "x.sqlite"]);
        assert!(!ok && out.contains("pg_dump"), "{out}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.sqlite").to_string_lossy().to_string();
    let port = free_port();
    let _server = Killed(spawn_server(
        &db,
        dir.path(),
        port,
        &[
            ("ROCKET_SIGNUP", "open"),
            ("ROCKET_SIGNUP_ADDRESS_LIMIT", "100000"),
            ("ROCKET_ADDRESS_FAILURES", "100000"),
        ],
    ));
    let base = format!("http://127.0.0.1:{port}");
    // Two clients sign up and sign in without pause; each account's commit time is kept.
    let stop = Arc::new(AtomicBool::new(false));
    let committed: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let (stop, committed, base) = (stop.clone(), committed.clone(), base.clone());
            std::thread::spawn(move || {
                let agent = http_agent(std::time::Duration::from_secs(10));
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let name = format!("user{w}x{i}");
                    if sign_up_and_in(&agent, &base, &name) {
                        committed.lock().unwrap().push((name, Instant::now()));
                    }
                    i += 1;
                }
            })
        })
        .collect();
    while committed.lock().unwrap().len() < 20 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let file = dir.path().join("backup.sqlite");
    let started = Instant::now();
    let (ok, out) = command(&db, dir.path(), &["backup", &file.to_string_lossy()]);
    let finished = Instant::now();
    assert!(ok, "{out}");
    // A few more after the backup, then stop.
    std::thread::sleep(std::time::Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let committed = committed.lock().unwrap().clone();
    let before: Vec<&String> = committed
        .iter()
        .filter(|(_, at)| *at < started)
        .map(|(n, _)| n)
        .collect();
    let after = committed.iter().filter(|(_, at)| *at > finished).count();
    println!(
        "backup during sign-ups: {} committed before it, {after} after; {out}",
        before.len()
    );
    assert!(
        after > 0,
        "the server kept serving during and after the backup"
    );
    // The server is still running: a restore into its database is refused.
    let (ok, out) = command(&db, dir.path(), &["restore", &file.to_string_lossy()]);
    assert!(!ok && out.contains("stop it"), "{out}");
    // A backup file that exists is not overwritten.
    let (ok, out) = command(&db, dir.path(), &["backup", &file.to_string_lossy()]);
    assert!(!ok && out.contains("exists"), "{out}");

    // Restore into a fresh folder, and every account committed before the backup is there.
    let fresh = tempfile::tempdir().unwrap();
    let restored_db = fresh
        .path()
        .join("restored.sqlite")
        .to_string_lossy()
        .to_string();
    let (ok, out) = command(
        &restored_db,
        fresh.path(),
        &["restore", &file.to_string_lossy()],
    );
    assert!(ok, "{out}");
    let app = gatehouse::App::start(&figment_with_url(fresh.path(), &restored_db)).unwrap();
    for name in &before {
        let n = name.to_string();
        let found = app
            .db
            .run_blocking(move |c| gatehouse::accounts::find_by_username(c, &n))
            .unwrap();
        assert!(
            found.is_some(),
            "{name} is missing from the restored database"
        );
    }
    drop(app);
    // And they sign in on a server over the restored file.
    let client = rocket::local::blocking::Client::untracked(gatehouse::rocket(figment_with_url(
        fresh.path(),
        &restored_db,
    )))
    .unwrap();
    let b = Browser::new(&client);
    assert_eq!(
        b.login(before[0], "a long and unguessable passphrase", false)
            .status,
        rocket::http::Status::SeeOther
    );
}

#[test]
fn restore_refuses_what_is_not_a_gatehouse_database() {
    if on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite").to_string_lossy().to_string();
    let junk = dir.path().join("junk.sqlite");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let (ok, out) = command(&db, dir.path(), &["restore", &junk.to_string_lossy()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("not a SQLite database") || out.contains("integrity"),
        "{out}"
    );
    let (ok, out) = command(&db, dir.path(), &["restore", "/nonexistent"]);
    assert!(!ok && out.contains("not a file"), "{out}");
    assert!(!std::path::Path::new(&db).exists(), "nothing was created");
}
