//! CSRF defence: every POST form carries `csrf_token` (see `sessions::csrf`), bound to
//! the session or, before sign-in, to a random pre-session cookie; and cross-origin POSTs
//! are refused by their `Origin` / `Referer` / `Sec-Fetch-Site` headers.

use rocket::data::{self, Data, FromData};
use rocket::form::{Form, FromForm};
use rocket::http::{Cookie, SameSite, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};

use crate::app::App;
use crate::forward::target::{origin_of, Authority, Scheme};
use crate::web::session::AnySession;

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
        let value = match jar.get(crate::web::session::names(app).presession) {
            Some(c) if crate::random::is_token::<32>(c.value()) => c.value().to_string(),
            _ => {
                let Ok(value) = crate::random::token::<32>() else {
                    return Outcome::Error((Status::InternalServerError, ()));
                };
                jar.add(presession_cookie(value.clone(), app));
                value
            }
        };
        Outcome::Success(PreSessionToken(app.csrf().for_presession(&value)))
    }
}

/// Forms protected by a token expose it here.
pub trait CsrfProtected {
    /// Whether the form is one shown before sign-in (sign-in, sign-up, setup): only those
    /// accept a pre-session token; every other form needs the session's own.
    const BEFORE_SIGN_IN: bool = false;
    fn csrf_token(&self) -> &str;
}

fn presession_cookie(value: String, app: &App) -> Cookie<'static> {
    Cookie::build((crate::web::session::names(app).presession, value))
        .path("/")
        .secure(app.settings().cookie_secure)
        .http_only(true)
        .same_site(SameSite::Lax)
        .build()
}

/// Gives the browser a new pre-session value at sign-in, so that tokens from the forms
/// it was shown before are void.
pub fn renew_presession(
    jar: &rocket::http::CookieJar<'_>,
    app: &App,
) -> crate::web::error::Result<()> {
    let value = crate::random::token::<32>()?;
    jar.add(presession_cookie(value, app));
    Ok(())
}

/// A form that passed the CSRF checks. Use it as the data guard of every POST route.
pub struct Csrf<T>(pub T);

impl<T> Csrf<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Refuses requests that say they come from another origin: `Sec-Fetch-Site:
/// cross-site`, or an `Origin` (else `Referer`) whose scheme, host or port differs from
/// this site's. The scheme is https when cookies are `Secure` (also http on a loopback
/// host, which browsers treat as secure), else http.
pub fn same_origin(req: &Request<'_>, secure: bool) -> bool {
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
    // One parser for every URL and host a client sends (`forward::target`).
    let (Ok((scheme, origin)), Some(this)) = (origin_of(source), headers.get_one("Host")) else {
        return false;
    };
    let scheme_ok = match scheme {
        Scheme::Https => secure,
        Scheme::Http => !secure || origin.is_loopback(),
    };
    scheme_ok && Authority::parse(scheme, this).is_ok_and(|host| host == origin)
}

/// Whether a request says it comes from this site (`same_origin`): for a route that takes
/// cross-site posts too and must know which ones may confirm (the OpenID logout, whose
/// confirmation form carries the session's form token).
pub struct FromThisSite(pub bool);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for FromThisSite {
    type Error = ();
    async fn from_request(req: &'r Request<'_>) -> rocket::request::Outcome<Self, ()> {
        let secure = req
            .rocket()
            .state::<App>()
            .is_none_or(|app| app.settings().cookie_secure);
        Outcome::Success(FromThisSite(same_origin(req, secure)))
    }
}

#[rocket::async_trait]
impl<'r, T: FromForm<'r> + CsrfProtected + Send + 'r> FromData<'r> for Csrf<T> {
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self, ()> {
        let Some(app) = req.rocket().state::<App>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        // No form here needs multipart, whose bodies Rocket would buffer per field.
        if req.content_type().is_some_and(|ct| ct.top() == "multipart") {
            return Outcome::Error((Status::UnsupportedMediaType, ()));
        }
        if !same_origin(req, app.settings().cookie_secure) {
            return Outcome::Error((Status::Forbidden, ()));
        }
        // Before the body is read: without the pre-session cookie (forms shown before
        // sign-in) or a session, no token can match, so the body is not worth holding.
        let has_presession = T::BEFORE_SIGN_IN
            && req
                .cookies()
                .get(crate::web::session::names(app).presession)
                .is_some();
        if !has_presession && !req.guard::<AnySession>().await.is_success() {
            return Outcome::Error((Status::Forbidden, ()));
        }
        let form = match Form::<T>::from_data(req, data).await {
            Outcome::Success(form) => form.into_inner(),
            Outcome::Error((status, _)) => return Outcome::Error((status, ())),
            Outcome::Forward(f) => return Outcome::Forward(f),
        };
        let token = form.csrf_token();
        let presession_ok = T::BEFORE_SIGN_IN
            && req
                .cookies()
                .get(crate::web::session::names(app).presession)
                .is_some_and(|c| app.csrf().verify_presession(c.value(), token));
        let ok = presession_ok
            || match req.guard::<AnySession>().await {
                Outcome::Success(AnySession(user)) => app.csrf().verify_session(&user.sid, token),
                _ => false,
            };
        if ok {
            Outcome::Success(Csrf(form))
        } else {
            Outcome::Error((Status::Forbidden, ()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_compared_by_scheme_host_and_port() -> Result<(), crate::forward::BadTarget> {
        let (scheme, a) = origin_of("https://Gate.Example/x?y")?;
        assert_eq!(
            (scheme, a.to_string()),
            (Scheme::Https, "gate.example".into())
        );
        assert_eq!(Authority::parse(Scheme::Https, "gate.example:443")?, a);
        let (scheme, a) = origin_of("http://[::1]:8000")?;
        assert_eq!((scheme, a.to_string()), (Scheme::Http, "[::1]:8000".into()));
        assert!(a.is_loopback());
        assert!(origin_of("null").is_err());
        assert!(origin_of("https://user@gate.example").is_err());
        assert!(origin_of("https://gate.example:99999").is_err());
        for host in ["127.0.0.1", "[::1]", "localhost"] {
            assert!(
                Authority::parse(Scheme::Http, host)?.is_loopback(),
                "{host}"
            );
        }
        assert!(!Authority::parse(Scheme::Http, "gate.example")?.is_loopback());
        Ok(())
    }
}
