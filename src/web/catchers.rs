//! Error pages for everything Rocket itself refuses, in the site's layout.

use crate::web::engine::Template;
use rocket::http::{RawStr, Status};
use rocket::response::Redirect;
use rocket::Either;
use rocket::{Catcher, Request};

use crate::app::App;
use crate::web::error::{default_message, error_page};
use crate::web::oidc::{self, OAuthError};
use crate::web::session;

/// Not signed in: to the sign-in page, coming back here afterwards (for a GET).
#[catch(401)]
fn unauthorized(req: &Request<'_>) -> Redirect {
    if let Some(app) = req.rocket().state::<App>() {
        if session::has_session_cookie(req, app) {
            session::clear_cookies(req.cookies(), app);
        }
    }
    if req.method() == rocket::http::Method::Get {
        let here = req.uri().to_string();
        Redirect::to(format!(
            "/login?next={}",
            RawStr::new(&here).percent_encode()
        ))
    } else {
        Redirect::to("/login")
    }
}

/// Signed in, but the password must be changed or a second factor enrolled first.
#[catch(428)]
fn duty_first(req: &Request<'_>) -> Redirect {
    match session::refused_duty(req) {
        session::Duty::EnrolSecondFactor => Redirect::to(session::Duty::EnrolSecondFactor.page()),
        _ => Redirect::to(session::Duty::ChangePassword.page()),
    }
}

/// Anything else: an error page, or at the OpenID provider's JSON endpoints an RFC 6749
/// error in JSON (its clients are programs).
#[catch(default)]
fn any(status: Status, req: &Request<'_>) -> Either<Template, OAuthError> {
    if oidc::is_json_endpoint(req.uri().path().as_str()) {
        return Either::Right(oidc::refused_before_the_route(status));
    }
    let lang = crate::web::lang::Lang::of(req);
    Either::Left(error_page(
        status,
        &lang,
        &default_message(status, lang.code),
    ))
}

pub fn catchers() -> Vec<Catcher> {
    catchers![unauthorized, duty_first, any]
}
