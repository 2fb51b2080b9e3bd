//! `gatehouse backup` and `gatehouse restore` for SQLite. A backup is `VACUUM INTO`: one
//! read transaction, so the copy is consistent while the server keeps serving (writers
//! are not blocked in WAL mode). A restore swaps the file in only when no server or
//! command has the database open: every process holds a shared lock on `<db>.lock` while
//! it uses the database, and a restore needs it exclusively.
//!
//! PostgreSQL has its own tools (`pg_dump`, `pg_restore`); see docs/deployment.md.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::DatabaseUrl;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

fn sqlite_path(url: &DatabaseUrl, command: &str) -> Result<PathBuf, String> {
    match url {
        DatabaseUrl::Sqlite(path) => Ok(PathBuf::from(path)),
        DatabaseUrl::Postgres(_) => Err(format!(
            "`gatehouse {command}` is for SQLite; for PostgreSQL use pg_dump and pg_restore \
             (docs/deployment.md, \"Backups\")"
        )),
    }
}

/// `db` with `suffix` added to its file name (`x.sqlite` → `x.sqlite.lock`).
fn with_suffix(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Opens (creating) the lock file `<db><suffix>`; `None` for databases that are no file.
fn lock_file(db: &Path, suffix: &str) -> Result<Option<(File, PathBuf)>, String> {
    let name = db.to_string_lossy();
    if name == ":memory:" || name.starts_with("file:") {
        return Ok(None);
    }
    let path = with_suffix(db, suffix);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    Ok(Some((file, path)))
}

/// Held while migrating, so that processes starting together on one SQLite file take
/// turns: the second finds the schema ready. (One migration rebuilds a table outside a
/// transaction, so SQLite's own write lock cannot serialise them.) It blocks until the
/// process before has finished; dropping the file releases it.
pub fn hold_for_migration(db: &str) -> Result<Option<File>, String> {
    let Some((file, path)) = lock_file(Path::new(db), ".migrate.lock")? else {
        return Ok(None);
    };
    file.lock()
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(Some(file))
}

/// Taken by every process that opens the SQLite file (held until it exits): a restore
/// cannot swap the file under it.
pub fn hold_shared(db: &str) -> Result<Option<File>, String> {
    let Some((file, path)) = lock_file(Path::new(db), ".lock")? else {
        return Ok(None);
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "the database {db} is being restored; start again when the restore has finished"
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

fn open(path: &Path) -> Result<SqliteConnection, String> {
    let mut c = SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    c.batch_execute("PRAGMA busy_timeout = 10000;")
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(c)
}

/// Checks that `path` is a sound Gatehouse database; returns its number of accounts.
fn check(path: &Path) -> Result<i64, String> {
    let mut c = open(path)?;
    let checks: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut c)
        .map_err(|e| format!("{} is not a SQLite database: {e}", path.display()))?;
    if checks.len() != 1 || checks[0].integrity_check != "ok" {
        return Err(format!(
            "{} fails SQLite's integrity check: {}",
            path.display(),
            checks
                .iter()
                .map(|c| c.integrity_check.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    let count: Count = diesel::sql_query("SELECT count(*) AS n FROM accounts")
        .get_result(&mut c)
        .map_err(|_| {
            format!(
                "{} is not a Gatehouse database (no accounts table)",
                path.display()
            )
        })?;
    Ok(count.n)
}

/// Copies the live database into `dest` (a new file); returns the accounts in the copy.
pub fn backup(url: &DatabaseUrl, dest: &Path) -> Result<i64, String> {
    let db = sqlite_path(url, "backup")?;
    if !db.is_file() {
        return Err(format!(
            "setting `database_url`: {} does not exist",
            db.display()
        ));
    }
    if dest.exists() {
        return Err(format!(
            "{} exists already; give a new file name",
            dest.display()
        ));
    }
    let mut c = open(&db)?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(dest.to_string_lossy().to_string())
        .execute(&mut c)
        .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
    check(dest)
}

/// Replaces the database with the copy in `src` (the current file is kept beside it as
/// `<db>.before-restore`); refuses while any process uses the database. Returns the
/// accounts restored. Migrations are applied at the next start (or `gatehouse migrate`).
pub fn restore(url: &DatabaseUrl, src: &Path) -> Result<i64, String> {
    let db = sqlite_path(url, "restore")?;
    if !src.is_file() {
        return Err(format!("{} is not a file", src.display()));
    }
    let accounts = check(src)?;
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the folder {}: {e}", dir.display()))?;
    }
    let Some((lock, lock_path)) = lock_file(&db, ".lock")? else {
        return Err(format!("{} is not a database file", db.display()));
    };
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(format!(
                "a Gatehouse server or command is using {}; stop it, then restore",
                db.display()
            ))
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(format!("cannot lock {}: {e}", lock_path.display()))
        }
    }
    let with = |suffix: &str| with_suffix(&db, suffix);
    let incoming = with(".restoring");
    std::fs::copy(src, &incoming)
        .and_then(|_| File::open(&incoming)?.sync_all())
        .map_err(|e| {
            format!(
                "cannot copy {} to {}: {e}",
                src.display(),
                incoming.display()
            )
        })?;
    // The current database and its write-ahead log are kept together, out of the way: a
    // stale log next to the restored file would be replayed into it.
    for (from, to) in [
        (db.clone(), with(".before-restore")),
        (with("-wal"), with(".before-restore-wal")),
        (with("-shm"), with(".before-restore-shm")),
    ] {
        let _ = std::fs::remove_file(&to);
        if from.exists() {
            std::fs::rename(&from, &to)
                .map_err(|e| format!("cannot move {} aside: {e}", from.display()))?;
        }
    }
    std::fs::rename(&incoming, &db)
        .map_err(|e| format!("cannot move {} into place: {e}", incoming.display()))?;
    drop(lock);
    Ok(accounts)
}
