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

pub type Result<T, E = Error> = std::result::Result<T, E>;
