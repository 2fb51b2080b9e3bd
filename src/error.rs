//! One error type for the whole application. As a responder it renders the error page
//! with the right status; internal details are logged, never shown.

use rocket::http::{Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket_dyn_templates::{context, Template};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    #[error("too many requests, retry after {retry_after}s")]
    TooManyRequests { retry_after: u64 },
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Error::Unavailable(format!("database: {e}"))
    }
}

impl Error {
    pub fn status(&self) -> Status {
        match self {
            Error::BadRequest(_) => Status::BadRequest,
            Error::Forbidden(_) => Status::Forbidden,
            Error::NotFound => Status::NotFound,
            Error::Unprocessable(_) => Status::UnprocessableEntity,
            Error::TooManyRequests { .. } => Status::TooManyRequests,
            Error::Unavailable(_) => Status::ServiceUnavailable,
            Error::Internal(_) => Status::InternalServerError,
        }
    }

    /// What the person reading the page is told.
    fn public_message(&self) -> String {
        match self {
            Error::BadRequest(m) | Error::Forbidden(m) | Error::Unprocessable(m) => m.clone(),
            _ => default_message(self.status()).to_string(),
        }
    }
}

/// Title and explanation for each status, shared by `Error` and the catchers.
pub fn default_title(status: Status) -> &'static str {
    match status.code {
        400 => "Bad request",
        401 => "Sign-in required",
        403 => "Forbidden",
        404 => "Page not found",
        413 => "Request too large",
        422 => "Form could not be read",
        429 => "Too many attempts",
        503 => "Temporarily unavailable",
        _ => "Something went wrong",
    }
}

pub fn default_message(status: Status) -> &'static str {
    match status.code {
        400 => "The request could not be understood.",
        401 => "You need to sign in to see this page.",
        403 => "You are not allowed to do this. If you submitted a form, reload the page and try again.",
        404 => "There is nothing at this address.",
        413 => "What was sent is larger than this site accepts.",
        422 => "The form was incomplete or malformed. Reload the page and try again.",
        429 => "Too many attempts. Wait a little and try again.",
        503 => "The service is temporarily unavailable. Try again in a moment.",
        _ => "An unexpected error occurred. It has been logged.",
    }
}

/// Renders the shared error page with `status`.
pub fn error_page(status: Status, message: &str) -> Template {
    Template::render(
        "errors/error",
        context! {
            status: status.code,
            title: default_title(status),
            message: message,
        },
    )
}

impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status();
        if status.code >= 500 {
            log::error!("{} {}: {self}", req.method(), req.uri().path());
        }
        let mut builder =
            Response::build_from(error_page(status, &self.public_message()).respond_to(req)?);
        builder.status(status);
        if let Error::TooManyRequests { retry_after } = self {
            builder.header(Header::new("Retry-After", retry_after.to_string()));
        }
        builder.ok()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
