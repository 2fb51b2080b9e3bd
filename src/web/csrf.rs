//! CSRF defence: every POST form carries `csrf_token` (see `sessions::csrf`), bound to
//! the session or, before sign-in, to a random pre-session cookie; and cross-origin POSTs
//! are refused by their `Origin` / `Referer` / `Sec-Fetch-Site` headers.

use rocket::data::{self, Data, FromData};
use rocket::form::{Form, FromForm};
use rocket::http::{Cookie, SameSite, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};

use crate::app::App;
use crate::web::session::AnySession;

pub const PRESESSION_COOKIE: &str = "__Host-presession";

/// The form token for a page shown before sign-in; makes the pre-session cookie if the
/// browser has none.
pub struct PreSessionToken(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PreSessionToken {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let Some(app) = req.rocket().state::<App>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let jar = req.cookies();
        let value = match jar.get(PRESESSION_COOKIE) {
            Some(c) if crate::random::is_token::<32>(c.value()) => c.value().to_string(),
            _ => {
                let Ok(value) = crate::random::token::<32>() else {
                    return Outcome::Error((Status::InternalServerError, ()));
                };
                jar.add(
                    Cookie::build((PRESESSION_COOKIE, value.clone()))
                        .path("/")
                        .secure(app.settings.cookie_secure)
                        .http_only(true)
                        .same_site(SameSite::Lax)
                        .build(),
                );
                value
            }
        };
        Outcome::Success(PreSessionToken(app.csrf.for_presession(&value)))
    }
}

/// Forms protected by a token expose it here.
pub trait CsrfProtected {
    fn csrf_token(&self) -> &str;
}

/// A form that passed the CSRF checks. Use it as the data guard of every POST route.
pub struct Csrf<T>(pub T);

impl<T> Csrf<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// The host and port part of an absolute URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    rest.split(['/', '?', '#']).next()
}

/// Refuses requests that say they come from another site.
pub fn same_origin(req: &Request<'_>) -> bool {
    let headers = req.headers();
    if headers
        .get_one("Sec-Fetch-Site")
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"))
    {
        return false;
    }
    let Some(source) = headers
        .get_one("Origin")
        .or_else(|| headers.get_one("Referer"))
    else {
        return true; // Neither header: an old client or a privacy setting; the token decides.
    };
    match (authority(source), headers.get_one("Host")) {
        (Some(from), Some(host)) => from.eq_ignore_ascii_case(host),
        _ => false,
    }
}

#[rocket::async_trait]
impl<'r, T: FromForm<'r> + CsrfProtected + Send + 'r> FromData<'r> for Csrf<T> {
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self, ()> {
        if !same_origin(req) {
            return Outcome::Error((Status::Forbidden, ()));
        }
        let form = match Form::<T>::from_data(req, data).await {
            Outcome::Success(form) => form.into_inner(),
            Outcome::Error((status, _)) => return Outcome::Error((status, ())),
            Outcome::Forward(f) => return Outcome::Forward(f),
        };
        let Some(app) = req.rocket().state::<App>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let token = form.csrf_token();
        let presession_ok = req
            .cookies()
            .get(PRESESSION_COOKIE)
            .is_some_and(|c| app.csrf.verify_presession(c.value(), token));
        let ok = presession_ok
            || match req.guard::<AnySession>().await {
                Outcome::Success(AnySession(user)) => app.csrf.verify_session(&user.sid, token),
                _ => false,
            };
        if ok {
            Outcome::Success(Csrf(form))
        } else {
            Outcome::Error((Status::Forbidden, ()))
        }
    }
}
