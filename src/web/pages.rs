//! The home redirect, the dashboard, and the health endpoints.

use crate::context;
use crate::web::engine::Template;
use rocket::response::Redirect;
use rocket::State;

use crate::app::App;
use crate::web::error::Result;
use crate::web::lang::{page, Lang};
use crate::web::session::{AnySession, AuthenticatedUser};

#[get("/")]
pub fn index(user: Option<AnySession>) -> Redirect {
    match user {
        Some(AnySession(u)) if u.duty() != crate::web::session::Duty::None => {
            Redirect::to(u.duty().page())
        }
        Some(_) => Redirect::to("/dashboard"),
        None => Redirect::to("/login"),
    }
}

/// Served from the access token alone: no database query.
#[get("/dashboard")]
pub fn dashboard(user: AuthenticatedUser, lang: Lang) -> Template {
    page(
        "dashboard",
        &lang,
        context! { user, title_key: "title-dashboard" },
    )
}

#[get("/healthz")]
pub fn healthz() -> &'static str {
    "ok"
}

#[get("/readyz")]
pub async fn readyz(app: &State<App>) -> Result<&'static str> {
    app.db.ping().await?;
    Ok("ready")
}

/// The public keys of the asymmetric signing keys, for services that verify access tokens
/// themselves. HS256 secrets never appear. Cacheable for five minutes.
#[get("/.well-known/jwks.json")]
pub fn jwks(
    app: &State<App>,
) -> (
    rocket::http::ContentType,
    rocket::response::content::RawJson<String>,
) {
    let body = serde_json::json!({ "keys": app.keys.jwks() }).to_string();
    (
        rocket::http::ContentType::JSON,
        rocket::response::content::RawJson(body),
    )
}
