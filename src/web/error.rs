//! What a request's failure looks like: the status, the error page, and the mapping from
//! the domain's errors. Internal details are logged, never shown.

use crate::context;
use crate::web::engine::Template;
use rocket::http::{Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};

use crate::i18n::Message;
use crate::web::lang::{page, Lang};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad request: {0}")]
    BadRequest(Message),
    #[error("forbidden: {0}")]
    Forbidden(Message),
    #[error("not found")]
    NotFound,
    #[error("conflict")]
    Conflict,
    #[error("unprocessable: {0}")]
    Unprocessable(Message),
    #[error("too many requests, retry after {retry_after}s")]
    TooManyRequests { retry_after: u64 },
    /// The database or a bounded queue: try again later.
    #[error("unavailable: {0}")]
    Unavailable(#[source] crate::error::Error),
    #[error("internal: {0}")]
    Internal(#[source] crate::error::Error),
    /// A sensitive action without a recent confirmation: to `/reauth`, then back to
    /// this page.
    #[error("confirmation needed before {0}")]
    Reauthenticate(String),
}

impl From<crate::error::Error> for Error {
    fn from(e: crate::error::Error) -> Self {
        match e {
            e if e.is_not_found() => Error::NotFound,
            e if e.is_conflict() => Error::Conflict,
            // Away, busy, full or read-only: 503 with Retry-After. A statement that is
            // wrong (a constraint bug, say) is not an outage: 500, its chain logged.
            e if e.is_unavailable() => Error::Unavailable(e),
            e => Error::Internal(e),
        }
    }
}

/// What an administrator's refused action looks like: the one mapping (a form that can
/// say more, such as "name taken" next to its field, handles that refusal itself first).
impl From<crate::admin::Refusal> for Error {
    fn from(r: crate::admin::Refusal) -> Self {
        use crate::admin::Refusal;
        match r {
            Refusal::NotFound => Error::NotFound,
            Refusal::NotAdmin => Error::Forbidden(Message::new("msg-not-admin")),
            Refusal::SelfAction => Error::Forbidden(Message::new("msg-self-action")),
            Refusal::LastAdmin => Error::Forbidden(Message::new("msg-last-admin")),
            Refusal::Taken => Error::Conflict,
            Refusal::ConfirmationMismatch => {
                Error::Unprocessable(Message::new("msg-delete-confirm"))
            }
            Refusal::Db(e) => e.into(),
        }
    }
}

impl Error {
    pub fn status(&self) -> Status {
        match self {
            Error::BadRequest(_) => Status::BadRequest,
            Error::Forbidden(_) => Status::Forbidden,
            Error::NotFound => Status::NotFound,
            Error::Conflict => Status::Conflict,
            Error::Unprocessable(_) => Status::UnprocessableEntity,
            Error::TooManyRequests { .. } => Status::TooManyRequests,
            Error::Unavailable(_) => Status::ServiceUnavailable,
            Error::Internal(_) => Status::InternalServerError,
            Error::Reauthenticate(_) => Status::SeeOther,
        }
    }

    /// What the person reading the page is told, in their language.
    fn public_message(&self, lang: &str) -> String {
        match self {
            Error::BadRequest(m) | Error::Forbidden(m) | Error::Unprocessable(m) => m.text(lang),
            _ => default_message(self.status(), lang),
        }
    }
}

fn known(status: Status) -> String {
    match status.code {
        400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503 => status.code.to_string(),
        _ => "other".into(),
    }
}

/// Title and explanation for each status, shared by `Error` and the catchers.
pub fn default_title(status: Status, lang: &str) -> String {
    crate::i18n::text(lang, &format!("error-title-{}", known(status)), &[])
}

pub fn default_message(status: Status, lang: &str) -> String {
    crate::i18n::text(lang, &format!("error-message-{}", known(status)), &[])
}

/// Renders the shared error page with `status`.
pub fn error_page(status: Status, lang: &Lang, message: &str) -> Template {
    page(
        "errors/error",
        lang,
        context! { status: status.code, title: default_title(status, lang.code), message: message },
    )
}

/// Seconds a 503 tells the client to wait before trying again.
pub const RETRY_UNAVAILABLE: u64 = 2;

impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        if let Error::Reauthenticate(next) = &self {
            let to = format!(
                "/reauth?next={}",
                rocket::http::RawStr::new(next).percent_encode()
            );
            return rocket::response::Redirect::to(to).respond_to(req);
        }
        let status = self.status();
        let lang = Lang::of(req);
        if status.code >= 500 {
            // The whole chain: which statement failed and why.
            let mut text = self.to_string();
            let mut source = std::error::Error::source(&self);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            log::error!("{} {}: {text}", req.method(), req.uri().path());
        }
        let mut builder = Response::build_from(
            error_page(status, &lang, &self.public_message(lang.code)).respond_to(req)?,
        );
        builder.status(status);
        match self {
            Error::TooManyRequests { retry_after } => {
                builder.header(Header::new("Retry-After", retry_after.to_string()));
            }
            // Busy (the hashing queue full, or an attempt that waited too long for it), or
            // the database away: worth another try in a moment.
            Error::Unavailable(_) => {
                builder.header(Header::new("Retry-After", RETRY_UNAVAILABLE.to_string()));
            }
            _ => {}
        }
        builder.ok()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::Refusal;
    use crate::error::Error as Domain;
    use diesel::result::{DatabaseErrorKind as Kind, Error as Diesel};

    fn db_error(kind: Kind, message: &str) -> Domain {
        Domain::Database(Diesel::DatabaseError(kind, Box::new(message.to_string())))
    }

    fn status(e: Domain) -> u16 {
        Error::from(e).status().code
    }

    #[test]
    fn not_found_is_404() {
        assert_eq!(status(Domain::NotFound), 404);
        assert_eq!(status(Domain::Database(Diesel::NotFound)), 404);
    }

    #[test]
    fn a_database_that_is_away_busy_full_or_read_only_is_503() {
        assert_eq!(status(Domain::Unavailable("timed out".into())), 503);
        assert_eq!(status(Domain::Busy("hashing queue")), 503);
        for message in [
            "database is locked",
            "database or disk is full",
            "attempt to write a readonly database",
            "disk I/O error",
            "terminating connection due to administrator command",
            "server closed the connection unexpectedly",
        ] {
            assert_eq!(status(db_error(Kind::Unknown, message)), 503, "{message}");
        }
        assert_eq!(status(db_error(Kind::ClosedConnection, "gone")), 503);
        assert_eq!(
            status(db_error(Kind::ReadOnlyTransaction, "read-only")),
            503
        );
        assert_eq!(status(db_error(Kind::SerializationFailure, "retry")), 503);
    }

    #[test]
    fn a_statement_that_is_wrong_is_500_not_an_outage() {
        assert_eq!(
            status(db_error(
                Kind::ForeignKeyViolation,
                "FOREIGN KEY constraint failed"
            )),
            500
        );
        assert_eq!(
            status(db_error(Kind::CheckViolation, "CHECK constraint failed")),
            500
        );
        assert_eq!(
            status(db_error(Kind::NotNullViolation, "NOT NULL constraint")),
            500
        );
        assert_eq!(status(db_error(Kind::Unknown, "no such column: x")), 500);
        assert_eq!(status(Domain::Internal("a bug".into())), 500);
    }

    #[test]
    fn a_name_taken_is_a_conflict() {
        assert_eq!(
            status(db_error(Kind::UniqueViolation, "UNIQUE constraint failed")),
            409
        );
        assert_eq!(status(Domain::Conflict("taken")), 409);
    }

    #[test]
    fn every_refusal_has_its_own_answer_and_the_last_administrator_is_never_a_404() {
        let cases = [
            (Refusal::NotFound, 404, None),
            (Refusal::NotAdmin, 403, Some("msg-not-admin")),
            (Refusal::SelfAction, 403, Some("msg-self-action")),
            (Refusal::LastAdmin, 403, Some("msg-last-admin")),
            (Refusal::Taken, 409, None),
            (
                Refusal::ConfirmationMismatch,
                422,
                Some("msg-delete-confirm"),
            ),
            (Refusal::Db(Domain::Busy("x")), 503, None),
        ];
        for (refusal, code, key) in cases {
            let e = Error::from(refusal);
            assert_eq!(e.status().code, code, "{e}");
            if let Some(key) = key {
                assert_eq!(
                    e.public_message("en"),
                    crate::i18n::text("en", key, &[]),
                    "{e}"
                );
            }
        }
    }
}
