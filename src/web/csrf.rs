//! CSRF defence: every POST form carries `csrf_token`, an HMAC bound to the session (or,
//! before sign-in, to a random pre-session cookie), and cross-origin POSTs are refused
//! by their `Origin` / `Referer` / `Sec-Fetch-Site` headers.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rocket::data::{self, Data, FromData};
use rocket::form::{Form, FromForm};
use rocket::http::{Cookie, SameSite, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use sha2::Sha256;

use crate::app::App;
use crate::config::Key;
use crate::sessions::AnySession;

pub const PRESESSION_COOKIE: &str = "__Host-presession";

pub struct CsrfKey(Vec<u8>);

impl CsrfKey {
    /// A key of its own, derived from the signing key so that instances sharing keys agree.
    pub fn derive(signing: &Key) -> CsrfKey {
        CsrfKey(
            Self::mac_with(&signing.secret, b"gatehouse/csrf/v1")
                .finalize()
                .into_bytes()
                .to_vec(),
        )
    }

    fn mac_with(key: &[u8], data: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length"); // allow: HMAC accepts keys of any length
        mac.update(data);
        mac
    }

    fn token(&self, binding: &str) -> String {
        URL_SAFE_NO_PAD.encode(
            Self::mac_with(&self.0, binding.as_bytes())
                .finalize()
                .into_bytes(),
        )
    }

    fn verify(&self, binding: &str, token: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(token) {
            Ok(bytes) => Self::mac_with(&self.0, binding.as_bytes())
                .verify_slice(&bytes)
                .is_ok(),
            Err(_) => false,
        }
    }

    pub fn for_session(&self, sid: &str) -> String {
        self.token(&format!("s:{sid}"))
    }

    fn for_presession(&self, value: &str) -> String {
        self.token(&format!("p:{value}"))
    }
}

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
                let value = crate::random::token::<32>();
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
            .is_some_and(|c| app.csrf.verify(&format!("p:{}", c.value()), token));
        let ok = presession_ok
            || match req.guard::<AnySession>().await {
                Outcome::Success(AnySession(user)) => {
                    app.csrf.verify(&format!("s:{}", user.sid), token)
                }
                _ => false,
            };
        if ok {
            Outcome::Success(Csrf(form))
        } else {
            Outcome::Error((Status::Forbidden, ()))
        }
    }
}
