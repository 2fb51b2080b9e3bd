//! Self-service: your sessions, your password, and sign-up when it is open.

use crate::audit::Kind;
use crate::context;
use crate::web::engine::Template;
use rocket::http::{CookieJar, Status};
use rocket::response::Redirect;
use rocket::{Either, State};

use crate::accounts::{CreatedBy, Role};
use crate::app::{AccountRequest, App, NewAccount, PasswordChange};
use crate::config::Signup;
use crate::i18n::Message;
use crate::web::auth::TokenOnly;
use crate::web::client::ClientInfo;
use crate::web::csrf::{Csrf, CsrfProtected, PreSessionToken};
use crate::web::error::{Error, Result};
use crate::web::lang::{page, Lang};
use crate::web::notice;
use crate::web::session::{self as session, AnySession, AuthenticatedUser};

#[get("/account?<notice>")]
pub async fn account_page(
    user: AuthenticatedUser,
    notice: Option<&str>,
    passkeys_on: Option<crate::web::passkeys::PasskeysOn>,
    app: &State<App>,
    lang: Lang,
) -> Result<Template> {
    let (account, sessions, codes_left) = app.account_and_sessions(user.id).await?;
    Ok(page(
        "account/index",
        &lang,
        context! {
            title_key: "title-account",
            csrf_token: app.csrf().for_session(&user.sid),
            last_login_at: account.last_login_at,
            created_at: account.created_at,
            mail_on: app.mail_on(),
            oidc_on: app.oidc().is_some(),
            email: &account.email,
            email_verified: account.email_verified_at.is_some(),
            mail_lang: &account.lang,
            // The sign-in methods that are on.
            has_password: account.password_hash != crate::accounts::NO_PASSWORD,
            totp: account.has_totp(),
            passkey_count: account.passkeys,
            codes_left,
            passkeys_on: passkeys_on.is_some(),
            languages: crate::i18n::SUPPORTED,
            others: sessions.iter().filter(|s| s.id != user.sid).count(),
            current_sid: user.sid.clone(),
            sessions,
            notice: notice::text(notice),
            user,
        },
    ))
}

#[derive(FromForm)]
pub struct LanguageForm {
    #[field(default = String::new())]
    lang: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for LanguageForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// The language of the account's mail: the owner's own choice, on its own page.
#[post("/account/language", data = "<form>")]
pub async fn set_language(
    user: AuthenticatedUser,
    form: Csrf<LanguageForm>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    let form = form.into_inner();
    if crate::i18n::supported(&form.lang).is_none() {
        return Err(Error::BadRequest(Message::new("msg-choose-language")));
    }
    app.set_mail_language(user.owner(&client), form.lang)
        .await?;
    Ok(Redirect::to("/account?notice=language_saved"))
}

#[post("/sessions/<sid>/revoke", data = "<_form>")]
pub async fn revoke_session(
    sid: &str,
    user: AuthenticatedUser,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
    jar: &CookieJar<'_>,
) -> Result<Redirect> {
    app.revoke_own_session(user.owner(&client), sid.to_string())
        .await?;
    if sid == user.sid {
        session::clear_cookies(jar, app);
        return Ok(Redirect::to("/login?notice=signed_out"));
    }
    Ok(Redirect::to("/account?notice=session_revoked"))
}

#[post("/sessions/revoke-others", data = "<_form>")]
pub async fn revoke_others(
    user: AuthenticatedUser,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    app.revoke_other_sessions(user.owner(&client)).await?;
    Ok(Redirect::to("/account?notice=others_revoked"))
}

fn password_form(
    user: &AuthenticatedUser,
    app: &App,
    error: Option<&str>,
    notice: Option<&str>,
    lang: &Lang,
) -> Template {
    page(
        "account/password",
        lang,
        context! {
            title_key: "title-password",
            csrf_token: app.csrf().for_session(&user.sid),
            forced: user.must_change_password,
            min_length: app.policy().min_length,
            error,
            notice,
            user,
        },
    )
}

#[get("/account/password?<notice>")]
pub fn password_page(
    user: AnySession,
    notice: Option<&str>,
    app: &State<App>,
    lang: Lang,
) -> Template {
    password_form(&user.0, app, None, notice::text(notice), &lang)
}

#[derive(FromForm)]
pub struct PasswordForm {
    current: String,
    password: String,
    confirm: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for PasswordForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/account/password", data = "<form>")]
pub async fn change_password(
    user: AnySession,
    form: Csrf<PasswordForm>,
    authorizing: crate::web::oidc::AuthorizationInProgress,
    client: ClientInfo,
    app: &State<App>,
    jar: &CookieJar<'_>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    let (user, form) = (user.0, form.into_inner());
    let owner = user.owner(&client);
    match app
        .change_password(&owner, &form.current, &form.password, &form.confirm)
        .await?
    {
        PasswordChange::Refused(msg) => Ok(Either::Right((
            Status::UnprocessableEntity,
            password_form(&user, app, Some(&msg.text(lang.code)), None, &lang),
        ))),
        PasswordChange::Throttled(wait) => Err(Error::TooManyRequests {
            retry_after: wait.max(1) as u64,
        }),
        PasswordChange::SignedOut => {
            session::clear_cookies(jar, app);
            Ok(Either::Left(Redirect::to("/login?notice=signed_out")))
        }
        PasswordChange::Changed(account, groups) => {
            // This session goes on, with a token that no longer asks for a new password.
            let now = app.now();
            let access = app.access_token(&account, &groups, &user.sid, now)?;
            session::set_cookies(jar, app, access, None, now);
            // A forced change in the middle of an authorization: back to it.
            if let (true, Some(back)) = (user.must_change_password, authorizing.0) {
                return Ok(Either::Left(Redirect::to(back)));
            }
            Ok(Either::Left(Redirect::to(
                "/account?notice=password_changed",
            )))
        }
    }
}

fn signup_open(app: &App) -> Result<()> {
    match app.settings().signup {
        Signup::Open => Ok(()),
        Signup::Closed => Err(Error::NotFound),
    }
}

fn signup_form(
    lang: &Lang,
    csrf: &str,
    username: &str,
    error: Option<&str>,
    min_length: usize,
) -> Template {
    page(
        "auth/signup",
        lang,
        context! { title_key: "title-signup", csrf_token: csrf, username, error, min_length },
    )
}

#[get("/signup")]
pub fn signup_page(app: &State<App>, csrf: PreSessionToken, lang: Lang) -> Result<Template> {
    signup_open(app)?;
    Ok(signup_form(
        &lang,
        &csrf.0,
        "",
        None,
        app.policy().min_length,
    ))
}

/// Only these fields are read: anything else sent (a `role`, say) is ignored.
#[derive(FromForm)]
pub struct SignupForm {
    username: String,
    password: String,
    confirm: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for SignupForm {
    const BEFORE_SIGN_IN: bool = true;
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/signup", data = "<form>")]
pub async fn signup(
    form: Csrf<SignupForm>,
    csrf: PreSessionToken,
    client: ClientInfo,
    app: &State<App>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    signup_open(app)?;
    let form = form.into_inner();
    let refuse = |msg: Message| {
        Ok(Either::Right((
            Status::UnprocessableEntity,
            signup_form(
                &lang,
                &csrf.0,
                &form.username,
                Some(&msg.text(lang.code)),
                app.policy().min_length,
            ),
        )))
    };
    let created = app
        .sign_up(AccountRequest {
            username: &form.username,
            password: &form.password,
            confirm: Some(&form.confirm),
            role: Role::User,
            must_change_password: false,
            event: Kind::Signup,
            by: CreatedBy::Itself,
            ip: &client.ip,
            detail: String::new(),
        })
        .await?
        .map_err(|wait| Error::TooManyRequests {
            retry_after: wait as u64,
        })?;
    match created {
        NewAccount::Created(_) => Ok(Either::Left(Redirect::to("/login?notice=signed_up"))),
        NewAccount::Invalid(msg) => refuse(msg),
        NewAccount::Taken => refuse(Message::new("msg-username-unavailable")),
    }
}
