//! First run: the holder of the one-time setup link creates the first administrator.

use crate::audit::Kind;
use crate::context;
use crate::web::engine::Template;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::Either;
use rocket::State;

use crate::accounts::{CreatedBy, Role};
use crate::app::{AccountRequest, App, NewAccount};
use crate::i18n::Message;
use crate::web::client::ClientInfo;
use crate::web::csrf::{Csrf, CsrfProtected, PreSessionToken};
use crate::web::error::{Error, Result};
use crate::web::lang::{page, Lang};

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
        context! { token, csrf_token: csrf, username, error, min_length: app.policy().min_length, title_key: "title-setup" },
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
    if !app.setup_token_valid(token) {
        return Err(Error::NotFound);
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
    const BEFORE_SIGN_IN: bool = true;
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
    let _now = app.now();
    if !app.setup_token_valid(&form.token) {
        return Err(Error::NotFound);
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
    if let Err(msg) = crate::accounts::check_new(
        app.policy(),
        &form.username,
        &form.password,
        Some(&form.confirm),
    ) {
        return refuse(msg);
    }
    // Used up before the slow part, so that two submissions cannot both pass.
    if !app.consume_setup_token(&form.token) {
        return Err(Error::NotFound);
    }
    let created = app
        .create_account(AccountRequest {
            username: &form.username,
            password: &form.password,
            confirm: Some(&form.confirm),
            role: Role::Admin,
            must_change_password: false,
            event: Kind::SetupAdminCreated,
            by: CreatedBy::Setup,
            ip: &client.ip,
            detail: "first administrator created through /setup".into(),
        })
        .await?;
    match created {
        NewAccount::Created(_) => Ok(Either::Left(Redirect::to("/login?notice=setup_done"))),
        NewAccount::Invalid(msg) => refuse(msg),
        NewAccount::Taken => Err(Error::NotFound),
    }
}
