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

/// Ready when the database answers, and, after writes have been failing in a row, when
/// a write goes through again (a node whose database refuses writes cannot sign anyone
/// in, however well it reads).
#[get("/readyz")]
pub async fn readyz(app: &State<App>) -> Result<&'static str> {
    app.ready().await?;
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
    let body = serde_json::json!({ "keys": app.jwks() }).to_string();
    (
        rocket::http::ContentType::JSON,
        rocket::response::content::RawJson(body),
    )
}
