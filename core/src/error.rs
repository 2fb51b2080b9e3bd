//! The domain's error: what went wrong, with its source kept. It knows nothing of HTTP;
//! `web::error` decides the status and the page.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing asked for does not exist (or is not the caller's).
    #[error("not found")]
    NotFound,
    /// The change collides with what is there (a name taken, say).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A statement failed; the source says how.
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    /// No connection could be had (the database is down or every connection is busy).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A bounded queue is full (password hashing); try again shortly.
    #[error("busy: {0}")]
    Busy(&'static str),
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// Whether the database itself refused the change as a conflict (unique key).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Error::Conflict(_)
                | Error::Database(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _
                ))
        )
    }
}

impl Error {
    /// Whether the thing asked for is not there (our own `NotFound`, or a query for one
    /// row that found none).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Error::NotFound | Error::Database(diesel::result::Error::NotFound)
        )
    }

    /// Whether the failure is the database (or a bounded queue) being away, busy or
    /// refusing writes for now: worth another try in a moment (503), unlike a statement
    /// that is wrong (500).
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind as Kind, Error as Diesel};
        match self {
            Error::Unavailable(_) | Error::Busy(_) => true,
            Error::Database(Diesel::BrokenTransactionManager) => true,
            Error::Database(Diesel::DatabaseError(kind, info)) => match kind {
                Kind::ClosedConnection | Kind::SerializationFailure | Kind::ReadOnlyTransaction => {
                    true
                }
                _ => {
                    let message = info.message().to_ascii_lowercase();
                    TRANSIENT.iter().any(|t| message.contains(t))
                }
            },
            _ => false,
        }
    }
}

/// What SQLite and PostgreSQL say when the database cannot take a statement now (locked,
/// full, read-only, shutting down, the connection lost), as opposed to a wrong statement.
const TRANSIENT: &[&str] = &[
    "database is locked",
    "database table is locked",
    "database is busy",
    "disk i/o error",
    "database or disk is full",
    "readonly database",
    "read-only",
    "unable to open database",
    "terminating connection",
    "server closed the connection",
    "connection",
    "the database system is",
    "canceling statement",
    "deadlock detected",
    "could not serialize",
];

pub type Result<T, E = Error> = std::result::Result<T, E>;
