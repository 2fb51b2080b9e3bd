//! The connection pool, migrations, and the one door through which all database work
//! passes (`Db::run`), which keeps blocking Diesel calls off the async workers.

pub mod schema;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::Error;

pub type DbConn = SqliteConnection;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Settings applied to every new SQLite connection.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Where the database lives, from the `database_url` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("setting `database_url` is empty".into());
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Err(
                "setting `database_url`: PostgreSQL is not supported by this build yet; \
                 use a SQLite file path"
                    .into(),
            );
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
}

pub struct Db {
    pool: Pool<ConnectionManager<DbConn>>,
    /// How many units of database work have been started; tests use it to show that
    /// the hot path runs none.
    runs: AtomicU64,
}

impl Db {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub fn open(url: &DatabaseUrl) -> Result<Db, String> {
        let DatabaseUrl::Sqlite(path) = url;
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create the folder {}: {e}", dir.display()))?;
            }
        }
        let manager = ConnectionManager::<DbConn>::new(path.clone());
        let pool = Pool::builder()
            .max_size(8)
            .connection_timeout(Duration::from_secs(5))
            .connection_customizer(Box::new(SqlitePragmas))
            .build(manager)
            .map_err(|e| format!("cannot open the database {path}: {e}"))?;
        let mut conn = pool
            .get()
            .map_err(|e| format!("cannot open the database {path}: {e}"))?;
        conn.run_pending_migrations(MIGRATIONS)
            .map_err(|e| format!("cannot migrate the database {path}: {e}"))?;
        drop(conn);
        Ok(Db {
            pool,
            runs: AtomicU64::new(0),
        })
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    pub async fn run<F, T>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        self.runs.fetch_add(1, Ordering::Relaxed);
        let pool = self.pool.clone();
        rocket::tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| Error::Unavailable(e.to_string()))?;
            f(&mut conn)
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
        f(&mut conn)
    }

    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    pub async fn ping(&self) -> Result<(), Error> {
        self.run(|c| c.batch_execute("SELECT 1").map_err(Error::from))
            .await
    }
}
