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
    // An administrator, as a server in use has (a restore checks there is one).
    gatehouse_db(dir.path(), &db, &["root"]);
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
    wait_until("twenty sign-ups before the backup", || {
        committed.lock().unwrap().len() >= 20
    });
    let file = dir.path().join("backup.sqlite");
    let started = Instant::now();
    let (ok, out) = command(&db, dir.path(), &["backup", &file.to_string_lossy()]);
    let finished = Instant::now();
    assert!(ok, "{out}");
    // A few more after the backup, then stop.
    wait_until("a few more sign-ups after the backup", || {
        let committed = committed.lock().unwrap();
        committed.iter().filter(|(_, at)| *at > finished).count() >= 3
    });
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
            .db()
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
    // Restore is of a SQLite file: these run on SQLite in the PostgreSQL pass too.
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

/// A Gatehouse database at `db` (in `dir`) with the accounts `names` (the first an
/// administrator); closed again.
fn gatehouse_db(dir: &std::path::Path, db: &str, names: &[&str]) {
    let app = gatehouse::App::start(&figment_with_url(dir, db)).unwrap();
    for (i, name) in names.iter().enumerate() {
        let role = if i == 0 {
            gatehouse::accounts::Role::Admin
        } else {
            gatehouse::accounts::Role::User
        };
        app.create_user(name, role, PASSWORD).unwrap();
    }
}

/// The usernames in the SQLite file at `path`.
fn names_in(path: &std::path::Path) -> Vec<String> {
    use diesel::prelude::*;
    let mut c = diesel::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
    gatehouse::db::schema::accounts::table
        .select(gatehouse::db::schema::accounts::username)
        .order(gatehouse::db::schema::accounts::username)
        .load(&mut c)
        .unwrap()
}

/// Files in `dir` whose names start with `prefix`, sorted.
fn files_starting(dir: &std::path::Path, prefix: &str) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    found.sort();
    found
}

#[test]
fn a_file_with_an_accounts_table_that_is_not_gatehouse_is_refused_and_changes_nothing() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    // Restore is of a SQLite file: these run on SQLite in the PostgreSQL pass too.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite").to_string_lossy().to_string();
    gatehouse_db(dir.path(), &db, &["root", "alice"]);
    let other = dir.path().join("other-app.sqlite");
    diesel::SqliteConnection::establish(&other.to_string_lossy())
        .unwrap()
        .batch_execute(
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, login TEXT, balance INTEGER);
             INSERT INTO accounts (login, balance) VALUES ('bob', 10);",
        )
        .unwrap();
    let (ok, out) = command(&db, dir.path(), &["restore", &other.to_string_lossy()]);
    assert!(!ok, "{out}");
    assert!(out.contains("refusing to restore"), "{out}");
    assert!(
        out.contains("is unchanged"),
        "says what was left where: {out}"
    );
    assert_eq!(names_in(std::path::Path::new(&db)), ["alice", "root"]);
    assert!(files_starting(dir.path(), "db.sqlite.restoring").is_empty());
    assert!(files_starting(dir.path(), "db.sqlite.before-restore").is_empty());
    // A Gatehouse database without an administrator is refused as well.
    let fresh = tempfile::tempdir().unwrap();
    let headless = fresh.path().join("headless.sqlite");
    gatehouse_db(fresh.path(), &headless.to_string_lossy(), &[]);
    let (ok, out) = command(&db, dir.path(), &["restore", &headless.to_string_lossy()]);
    assert!(!ok && out.contains("no active administrator"), "{out}");
    // And the server still starts on the database that was there.
    let client = rocket::local::blocking::Client::untracked(gatehouse::rocket(figment_with_url(
        dir.path(),
        &db,
    )))
    .unwrap();
    let b = Browser::new(&client);
    assert_eq!(
        b.login("alice", PASSWORD, false).status,
        rocket::http::Status::SeeOther
    );
}

#[test]
fn a_second_restore_keeps_the_copy_the_first_one_kept() {
    // Restore is of a SQLite file: these run on SQLite in the PostgreSQL pass too.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite").to_string_lossy().to_string();
    gatehouse_db(dir.path(), &db, &["original"]);
    let backups = tempfile::tempdir().unwrap();
    let first = backups.path().join("first.sqlite");
    let second = backups.path().join("second.sqlite");
    gatehouse_db(backups.path(), &first.to_string_lossy(), &["first"]);
    gatehouse_db(
        &backups.path().join("b"),
        &second.to_string_lossy(),
        &["second"],
    );
    let (ok, out) = command(&db, dir.path(), &["restore", &first.to_string_lossy()]);
    assert!(ok, "{out}");
    let (ok, out) = command(&db, dir.path(), &["restore", &second.to_string_lossy()]);
    assert!(ok, "{out}");
    assert!(
        out.contains(".before-restore-"),
        "names the copy it kept: {out}"
    );
    assert_eq!(names_in(std::path::Path::new(&db)), ["second"]);
    let kept: Vec<_> = files_starting(dir.path(), "db.sqlite.before-restore")
        .into_iter()
        .filter(|p| {
            !p.to_string_lossy().ends_with("-wal") && !p.to_string_lossy().ends_with("-shm")
        })
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let mut held: Vec<Vec<String>> = kept.iter().map(|p| names_in(p)).collect();
    held.sort();
    assert_eq!(
        held,
        [vec!["first".to_string()], vec!["original".to_string()]]
    );
}
