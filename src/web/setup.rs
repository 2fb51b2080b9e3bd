//! First run: the holder of the one-time setup token creates the first administrator.

use std::sync::Mutex;

use rocket::http::Status;
use rocket::response::Redirect;
use rocket::Either;
use rocket::State;
use rocket_dyn_templates::{context, Template};

use crate::accounts::{self, password, CreatedBy, Creation, Role};
use crate::app::App;
use crate::error::{Error, Result};
use crate::i18n::{page, Lang, Message};
use crate::sessions::now;
use crate::web::client::ClientInfo;
use crate::web::csrf::{Csrf, CsrfProtected, PreSessionToken};

/// How long a setup link works.
pub const SETUP_TTL: i64 = 30 * 60;

/// The one-time token, kept as a hash; used once.
#[derive(Default)]
pub struct SetupToken(Mutex<Option<(String, i64)>>);

impl SetupToken {
    /// Makes a new token, replacing any earlier one, and returns it.
    pub fn issue(&self, now: i64) -> String {
        let token = crate::random::token::<32>();
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((password::prehash(&token), now + SETUP_TTL));
        token
    }

    pub fn is_valid(&self, token: &str, now: i64) -> bool {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        matches!(&*guard, Some((hash, expires)) if now < *expires && *hash == password::prehash(token))
    }

    /// Whether a setup link is on offer at all.
    pub fn is_valid_any(&self) -> bool {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        matches!(&*guard, Some((_, expires)) if now() < *expires)
    }

    /// Uses the token up; true if it was valid.
    fn consume(&self, token: &str, now: i64) -> bool {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let valid = matches!(&*guard, Some((hash, expires)) if now < *expires && *hash == password::prehash(token));
        if valid {
            *guard = None;
        }
        valid
    }
}

fn invalid_link() -> Error {
    Error::NotFound
}

fn setup_form(
    app: &App,
    lang: &Lang,
    token: &str,
    csrf: &str,
    username: &str,
    error: Option<&str>,
) -> Template {
    page(
        "auth/setup",
        lang,
        context! { token, csrf_token: csrf, username, error, min_length: app.policy.min_length, title_key: "title-setup" },
    )
}

#[get("/setup?<token>")]
pub fn setup_page(
    token: Option<&str>,
    app: &State<App>,
    csrf: PreSessionToken,
    lang: Lang,
) -> Result<Template> {
    let token = token.unwrap_or_default();
    if !app.setup.is_valid(token, now()) {
        return Err(invalid_link());
    }
    Ok(setup_form(app, &lang, token, &csrf.0, "", None))
}

#[derive(FromForm)]
pub struct SetupForm {
    #[field(default = String::new())]
    token: String,
    username: String,
    password: String,
    confirm: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for SetupForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/setup", data = "<form>")]
pub async fn setup(
    form: Csrf<SetupForm>,
    app: &State<App>,
    csrf: PreSessionToken,
    client: ClientInfo,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    let form = form.into_inner();
    let now = now();
    if !app.setup.is_valid(&form.token, now) {
        return Err(invalid_link());
    }
    let refuse = |msg: Message| {
        Ok(Either::Right((
            Status::UnprocessableEntity,
            setup_form(
                app,
                &lang,
                &form.token,
                &csrf.0,
                &form.username,
                Some(&msg.text(lang.code)),
            ),
        )))
    };
    if let Err(msg) = accounts::check_new(
        &app.policy,
        &form.username,
        &form.password,
        Some(&form.confirm),
    ) {
        return refuse(msg);
    }
    if !app.setup.consume(&form.token, now) {
        return Err(invalid_link());
    }
    let hash = app.hasher.hash(form.password.clone()).await?;
    let (username, ip) = (form.username.clone(), client.ip.clone());
    let created = app
        .db
        .run(move |c| {
            crate::db::write_tx(c, |c| {
                if accounts::admin_exists(c)? {
                    return Ok(None);
                }
                let creation = Creation {
                    username: &username,
                    password_hash: &hash,
                    role: Role::Admin,
                    must_change_password: false,
                    event: "setup_admin_created",
                    by: CreatedBy::Itself,
                    ip: &ip,
                    detail: "first administrator created through /setup".into(),
                };
                accounts::create_recorded(c, &creation, now)
            })
        })
        .await?;
    match created {
        Some(_) => Ok(Either::Left(Redirect::to("/login?notice=setup_done"))),
        None => Err(invalid_link()),
    }
}
