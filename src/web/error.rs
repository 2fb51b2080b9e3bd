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
        use crate::error::Error as Domain;
        match e {
            Domain::NotFound | Domain::Database(diesel::result::Error::NotFound) => Error::NotFound,
            e if e.is_conflict() => Error::Conflict,
            e @ (Domain::Database(_) | Domain::Unavailable(_) | Domain::Busy(_)) => {
                Error::Unavailable(e)
            }
            e => Error::Internal(e),
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
