//! The language of a request: the `lang` cookie (set by the switch in every page's
//! footer), else `Accept-Language`, else the default; and `page()`, which renders a
//! template in it.

use rocket::http::{Cookie, SameSite};
use rocket::request::{FromRequest, Outcome, Request};
use serde::Serialize;

use crate::app::App;
use crate::i18n::{self, SUPPORTED};

pub const COOKIE: &str = "lang";

/// The language of this request, and links to this page in each language.
#[derive(Debug, Clone, Serialize)]
pub struct Lang {
    pub code: &'static str,
    /// This page with `lang=<code>` for the language switch.
    pub switch: Vec<(&'static str, String)>,
}

impl Lang {
    /// Works it out once per request (cached), setting the cookie when `?lang=` asks.
    pub fn of(req: &Request<'_>) -> Lang {
        req.local_cache(|| {
            let from_query = req
                .query_value::<&str>("lang")
                .and_then(|r| r.ok())
                .and_then(i18n::supported);
            if let Some(code) = from_query {
                let secure = req
                    .rocket()
                    .state::<App>()
                    .is_none_or(|a| a.settings().cookie_secure);
                req.cookies().add(
                    Cookie::build((COOKIE, code))
                        .path("/")
                        .same_site(SameSite::Lax)
                        .secure(secure)
                        .http_only(true)
                        .max_age(time::Duration::days(365)),
                );
            }
            let code = from_query
                .or_else(|| {
                    req.cookies()
                        .get(COOKIE)
                        .and_then(|c| i18n::supported(c.value()))
                })
                .or_else(|| {
                    // In the client's order of preference; "ko-KR" counts as "ko".
                    let header = req.headers().get_one("Accept-Language")?;
                    accept_language::parse(header)
                        .iter()
                        .find_map(|tag| i18n::supported(tag.split('-').next().unwrap_or_default()))
                })
                .unwrap_or(i18n::DEFAULT);
            let path = req.uri().path().to_string();
            let switch = SUPPORTED
                .iter()
                .map(|l| (*l, format!("{path}?lang={l}")))
                .collect();
            Lang { code, switch }
        })
        .clone()
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Lang {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Lang::of(req))
    }
}

/// Renders `name` with `context` (a JSON object, as `context!` makes) plus the request's
/// language: the copy of the template with this language's fixed texts compiled in (see
/// `web::templates`; the server does not start without them). The object goes to Tera as
/// it is, not copied (`Template::render_json`).
pub fn page(
    name: &'static str,
    lang: &Lang,
    mut context: serde_json::Value,
) -> crate::web::engine::Template {
    if let serde_json::Value::Object(map) = &mut context {
        map.insert("lang".into(), serde_json::Value::String(lang.code.into()));
        map.insert(
            "lang_switch".into(),
            serde_json::to_value(&lang.switch).unwrap_or_default(),
        );
    }
    crate::web::engine::Template::render_json(
        super::templates::compiled_name(name, lang.code),
        context,
    )
}
