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

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub accounts: i64,
    /// Where the database it replaced was kept (none when there was none).
    pub kept: Option<PathBuf>,
}

/// A name beside `db` that is not taken yet: `<db><suffix>-<UTC time>`, then `-2`, `-3`…
fn fresh_name(db: &Path, suffix: &str, stamp: &str) -> PathBuf {
    let base = with_suffix(db, &format!("{suffix}-{stamp}"));
    let mut name = base.clone();
    let mut n = 1;
    while name.exists() || with_suffix(&name, "-wal").exists() {
        n += 1;
        name = with_suffix(&base, &format!("-{n}"));
    }
    name
}

fn utc_stamp() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Removes a copy and its journal files (best effort: it was ours).
fn remove_copy(path: &Path) {
    for p in [
        path.to_path_buf(),
        with_suffix(path, "-wal"),
        with_suffix(path, "-shm"),
    ] {
        let _ = std::fs::remove_file(p);
    }
}

/// Brings the copy at `path` to this version's schema and checks it is one Gatehouse can
/// serve: sound, every table and column of ours there, at least one active
/// administrator. Returns its number of accounts. Leaves no journal beside it.
fn prepare(path: &Path) -> Result<i64, String> {
    use diesel_migrations::MigrationHarness;
    let accounts = check(path)?;
    let mut c = open(path)?;
    c.run_pending_migrations(super::SQLITE_MIGRATIONS)
        .map_err(|e| format!("it cannot be brought to this version's schema: {e}"))?;
    schema_check(&mut c).map_err(|e| format!("it is not a Gatehouse database: {e}"))?;
    let admins: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM accounts WHERE role = 'admin' AND NOT disabled",
    )
    .get_result(&mut c)
    .map_err(|e| format!("cannot count its administrators: {e}"))?;
    if admins.n == 0 {
        return Err("it has no active administrator: nobody could manage the server".into());
    }
    c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")
        .map_err(|e| format!("{}: {e}", path.display()))?;
    drop(c);
    Ok(accounts)
}

/// Every table and column that the code reads, prepared against the file: a table or
/// column missing fails here rather than in a request.
fn schema_check(c: &mut SqliteConnection) -> Result<(), diesel::result::Error> {
    use super::schema::*;
    macro_rules! columns_of {
        ($($t:ident),*) => {$(
            $t::table.select($t::all_columns).limit(0).execute(c)?;
        )*};
    }
    columns_of!(
        accounts,
        login_attempts,
        sessions,
        refresh_tokens,
        audit_events,
        recovery_codes,
        pending_sign_ins,
        groups,
        group_members,
        mail_tokens,
        outbox,
        changes,
        write_probe,
        passkeys,
        passkey_ceremonies
    );
    Ok(())
}

/// Replaces the database with a copy of `src`, refusing while any process uses the
/// database. The copy is made beside the database, migrated and checked there
/// (`prepare`); only a copy that passes is swapped in. The database it replaces is kept
/// as `<db>.before-restore-<UTC time>` (never over an earlier one). Every failure says
/// what was left where.
pub fn restore(url: &DatabaseUrl, src: &Path) -> Result<Restored, String> {
    let db = sqlite_path(url, "restore")?;
    if !src.is_file() {
        return Err(format!("{} is not a file", src.display()));
    }
    check(src)?;
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
    let untouched = format!("{} is unchanged", db.display());
    let stamp = utc_stamp();
    let incoming = fresh_name(&db, ".restoring", &stamp);
    if let Err(e) = std::fs::copy(src, &incoming).and_then(|_| File::open(&incoming)?.sync_all()) {
        remove_copy(&incoming);
        return Err(format!(
            "cannot copy {} to {}: {e}; {untouched}",
            src.display(),
            incoming.display()
        ));
    }
    let accounts = match prepare(&incoming) {
        Ok(n) => n,
        Err(e) => {
            remove_copy(&incoming);
            return Err(format!(
                "refusing to restore {}: {e}. Nothing was swapped: {untouched}, and the \
                 copy made to check it was removed",
                src.display()
            ));
        }
    };
    // The current database and its write-ahead log are kept together, out of the way: a
    // stale log next to the restored file would be replayed into it.
    let kept = db
        .exists()
        .then(|| fresh_name(&db, ".before-restore", &stamp));
    if let Some(kept) = &kept {
        let mut moved = Vec::new();
        for (from, to) in [
            (db.clone(), kept.clone()),
            (with_suffix(&db, "-wal"), with_suffix(kept, "-wal")),
            (with_suffix(&db, "-shm"), with_suffix(kept, "-shm")),
        ] {
            if !from.exists() {
                continue;
            }
            if let Err(e) = std::fs::rename(&from, &to) {
                // Put back what moved, so the database is whole where it was.
                for (f, t) in moved.iter().rev() {
                    let _ = std::fs::rename(t, f);
                }
                return Err(format!(
                    "cannot move {} aside to {}: {e}; {untouched}, and the checked copy is \
                 left at {}",
                    from.display(),
                    to.display(),
                    incoming.display()
                ));
            }
            moved.push((from, to));
        }
    }
    if let Err(e) = std::fs::rename(&incoming, &db) {
        let kept = kept
            .as_ref()
            .map(|k| format!("the previous database is at {}", k.display()))
            .unwrap_or_else(|| "there was no previous database".into());
        return Err(format!(
            "cannot move {} into place as {}: {e}; {kept}, and the checked copy is left at \
                 {} (move it there by hand, with the server stopped)",
            incoming.display(),
            db.display(),
            incoming.display()
        ));
    }
    drop(lock);
    Ok(Restored { accounts, kept })
}
