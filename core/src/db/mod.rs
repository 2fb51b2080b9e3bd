//! The connection pool over SQLite or PostgreSQL, migrations, and the one door through
//! which all database work passes (`Db::run`), which keeps blocking Diesel calls off the
//! async workers.

pub mod backup;
pub mod schema;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::Error;

/// One connection type for both databases: every query is written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// Runs the same code against whichever concrete connection is inside, for the few
/// statements the combined backend cannot express (upserts, migrations).
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Pg($c) => $body,
        }
    };
}

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Opens connections of the one kind the URL names. (The derived `DbConn::establish`
/// tries each kind in turn: a PostgreSQL URL was first tried as a SQLite file name, and
/// a refused PostgreSQL connection was reported only as "Invalid connection url".)
#[derive(Debug)]
struct Connector {
    url: DatabaseUrl,
}

impl ManageConnection for Connector {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => SqliteConnection::establish(path).map(DbConn::Sqlite),
            DatabaseUrl::Postgres(url) => {
                init_tls();
                PgConnection::establish(url).map(DbConn::Pg)
            }
        }
        .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Initialises OpenSSL (which libpq uses for TLS) without its exit handler. Left to
/// initialise itself inside libpq, OpenSSL registers a handler that frees its locks at
/// exit while other threads may still be inside a TLS connection, and the process dies
/// of SIGSEGV as it exits. Call before the first PostgreSQL connection; idempotent.
pub fn init_tls() {
    openssl_sys::init();
}

/// Settings applied to every new connection.
#[derive(Debug)]
struct OnConnect;

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for OnConnect {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        let sql = match conn {
            // The timeout first: switching a new file to WAL waits for a process that is
            // doing the same.
            DbConn::Sqlite(_) => {
                "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
            }
            // A stuck statement must not hold a worker for ever.
            DbConn::Pg(_) => "SET statement_timeout = '10s'; SET lock_timeout = '5s';",
        };
        conn.batch_execute(sql)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Where the database lives, from the `database_url` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("setting `database_url` is empty".into());
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.contains("://") {
            return Err(format!(
                "setting `database_url`: unknown scheme in {url:?}; use a file path, \
                 sqlite://path or postgres://…"
            ));
        }
        Ok(DatabaseUrl::Sqlite(path.to_string()))
    }

    /// For messages: the URL without any password.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => path.clone(),
            DatabaseUrl::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
                _ => url.clone(),
            },
        }
    }
}

/// Applies pending migrations. On PostgreSQL an advisory lock makes instances that start
/// together take turns; on SQLite a lock file does (`backup::hold_for_migration`).
fn migrate(conn: &mut DbConn) -> Result<(), String> {
    const LOCK: &str = "SELECT pg_advisory_lock(7355608)";
    const UNLOCK: &str = "SELECT pg_advisory_unlock(7355608)";
    match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        DbConn::Pg(c) => {
            c.batch_execute(LOCK).map_err(|e| e.to_string())?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|_| ())
                .map_err(|e| e.to_string());
            let _ = c.batch_execute(UNLOCK);
            result
        }
    }
}

/// Whether an error means the database did not take a write (read-only, full, failing
/// disk, locked past the timeout, connection lost), as opposed to a refusal of this one
/// change (a unique key, a missing row) or a domain answer.
pub trait WriteFailure {
    fn is_write_failure(&self) -> bool;
}

impl WriteFailure for diesel::result::Error {
    fn is_write_failure(&self) -> bool {
        use diesel::result::DatabaseErrorKind as Kind;
        matches!(
            self,
            diesel::result::Error::DatabaseError(
                Kind::Unknown
                    | Kind::ReadOnlyTransaction
                    | Kind::ClosedConnection
                    | Kind::UnableToSendCommand,
                _
            )
        )
    }
}

impl WriteFailure for Error {
    fn is_write_failure(&self) -> bool {
        matches!(self, Error::Database(e) if e.is_write_failure())
    }
}

std::thread_local! {
    /// How the write transactions of the unit of work running on this thread went: `Db`
    /// reads it when the unit ends (it runs on one blocking thread) and keeps count.
    static WRITES: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
}

fn note_write(ok: bool) {
    WRITES.with(|w| w.set(Some(ok && w.get() != Some(false))));
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (so a read-then-write
/// never fails on lock upgrade), an ordinary transaction on PostgreSQL. Whether the
/// database took the write is noted for readiness (`Db::writes_failing`).
pub fn write_tx<T, E>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error> + WriteFailure,
{
    let outcome = write_tx_in(conn, f);
    match &outcome {
        Ok(_) => note_write(true),
        Err(e) if e.is_write_failure() => note_write(false),
        Err(_) => {}
    }
    outcome
}

fn write_tx_in<T, E>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Pg(_) => conn.transaction(f),
        DbConn::Sqlite(_) => {
            conn.batch_execute("BEGIN IMMEDIATE")?;
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut *conn)));
            match outcome {
                Ok(Ok(value)) => match conn.batch_execute("COMMIT") {
                    Ok(()) => Ok(value),
                    Err(e) => {
                        let _ = conn.batch_execute("ROLLBACK");
                        Err(e.into())
                    }
                },
                Ok(Err(e)) => {
                    let _ = conn.batch_execute("ROLLBACK");
                    Err(e)
                }
                Err(panic) => {
                    let _ = conn.batch_execute("ROLLBACK");
                    std::panic::resume_unwind(panic)
                }
            }
        }
    }
}

/// SQLite: copies what the write-ahead log holds back into the database now, without
/// waiting for readers or writers (`PASSIVE`); outside any transaction. Best effort: a
/// checkpoint that cannot finish is done later by SQLite itself. Nothing on PostgreSQL.
pub fn checkpoint(conn: &mut DbConn) {
    if let DbConn::Sqlite(c) = conn {
        let _ = c.batch_execute("PRAGMA wal_checkpoint(PASSIVE);");
    }
}

/// Write transactions that failed in a row after which the instance says it is not
/// ready (`/readyz`) until a write goes through again.
pub const FAILED_WRITES_UNREADY: u32 = 3;

pub struct Db {
    pool: Pool<Connector>,
    url: DatabaseUrl,
    /// How many units of database work have been started; tests use it to show that
    /// the hot path runs none.
    runs: AtomicU64,
    /// Write transactions that failed since the last that went through.
    failed_writes: std::sync::Arc<std::sync::atomic::AtomicU32>,
    /// SQLite: the shared lock that keeps a restore from swapping the file under us.
    _lock: Option<std::fs::File>,
}

impl Db {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub fn open(url: &DatabaseUrl) -> Result<Db, String> {
        if let DatabaseUrl::Sqlite(path) = url {
            if let Some(dir) = std::path::Path::new(path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create the folder {}: {e}", dir.display()))?;
                }
            }
        }
        let lock = match url {
            DatabaseUrl::Sqlite(path) => backup::hold_shared(path)?,
            DatabaseUrl::Postgres(_) => None,
        };
        let manager = Connector { url: url.clone() };
        let size = match url {
            DatabaseUrl::Sqlite(_) => 8,
            DatabaseUrl::Postgres(_) => 16,
        };
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(2))
            .connection_customizer(Box::new(OnConnect))
            .build(manager)
            .map_err(|e| format!("cannot open the database {}: {e}", url.redacted()))?;
        let mut conn = pool
            .get()
            .map_err(|e| format!("cannot open the database {}: {e}", url.redacted()))?;
        let migrating = match url {
            DatabaseUrl::Sqlite(path) => backup::hold_for_migration(path)?,
            DatabaseUrl::Postgres(_) => None, // an advisory lock, in `migrate`
        };
        migrate(&mut conn)
            .map_err(|e| format!("cannot migrate the database {}: {e}", url.redacted()))?;
        drop(migrating);
        drop(conn);
        Ok(Db {
            pool,
            url: url.clone(),
            runs: AtomicU64::new(0),
            failed_writes: Default::default(),
            _lock: lock,
        })
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    pub async fn run<F, T>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.run_background(f).await
    }

    /// As `run`, for background work (the change feed), not counted as request work.
    pub async fn run_background<F, T>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let failed = self.failed_writes.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| Error::Unavailable(e.to_string()))?;
            counting_writes(&failed, || f(&mut conn))
        })
        .await
        .map_err(|e| Error::Internal(format!("database task failed: {e}")))?
    }

    /// Synchronous access for the command line and start-up.
    pub fn run_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConn) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        let mut conn = self
            .pool
            .get()
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        counting_writes(&self.failed_writes, || f(&mut conn))
    }

    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// Whether the last `FAILED_WRITES_UNREADY` write transactions all failed.
    pub fn writes_failing(&self) -> bool {
        self.failed_writes.load(Ordering::Relaxed) >= FAILED_WRITES_UNREADY
    }

    /// Writes one row (`write_probe`), to see whether writes go through again.
    pub async fn probe_write(&self, now: i64) -> Result<(), Error> {
        use diesel::prelude::*;
        use schema::write_probe;
        self.run_background(move |c| {
            write_tx(c, |c| {
                let n = diesel::update(write_probe::table.find(1))
                    .set(write_probe::at.eq(now))
                    .execute(c)?;
                if n == 0 {
                    diesel::insert_into(write_probe::table)
                        .values((write_probe::id.eq(1), write_probe::at.eq(now)))
                        .execute(c)?;
                }
                Ok(())
            })
        })
        .await
    }

    pub async fn ping(&self) -> Result<(), Error> {
        self.run(|c| c.batch_execute("SELECT 1").map_err(Error::from))
            .await
    }
}

/// Runs `f` and counts how its write transactions went: a write that went through clears
/// the count of failures in a row, one the database did not take adds to it.
fn counting_writes<T>(failed: &std::sync::atomic::AtomicU32, f: impl FnOnce() -> T) -> T {
    WRITES.with(|w| w.set(None));
    let out = f();
    match WRITES.with(|w| w.take()) {
        Some(true) => failed.store(0, Ordering::Relaxed),
        Some(false) => {
            failed.fetch_add(1, Ordering::Relaxed);
        }
        None => {}
    }
    out
}

/// Keyset pagination: `rows` were loaded with `LIMIT limit + 1`; keeps `limit` of them and
/// returns the key to continue after when there were more.
pub fn keyset_page<T, K>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> K,
) -> (Vec<T>, Option<K>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(&key);
        (rows, next)
    } else {
        (rows, None)
    }
}
