//! The pages that go by mail: your address (`/account/email`, verified by a link), a
//! forgotten password (`/password/forgot`, `/password/reset`), and an invitation
//! (`/invite`). Without `smtp_url` they are 404.

use crate::context;
use crate::web::engine::Template;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{Either, State};

use crate::app::App;
use crate::i18n::Message;
use crate::mail::{tokens, AddressError};
use crate::web::client::ClientInfo;
use crate::web::csrf::{Csrf, CsrfProtected, PreSessionToken};
use crate::web::error::{Error, Result};
use crate::web::lang::{page, Lang};
use crate::web::notice;
use crate::web::second_factor::require_recent_confirmation;
use crate::web::session::{AnySession, AuthenticatedUser};

fn mail_on(app: &App) -> Result<()> {
    if app.mail_on() {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

fn email_page(
    app: &App,
    user: &AuthenticatedUser,
    account: &crate::accounts::Account,
    value: &str,
    error: Option<String>,
    notice: Option<&str>,
    lang: &Lang,
) -> Template {
    page(
        "account/email",
        lang,
        context! {
            title_key: "title-email",
            csrf_token: app.csrf().for_session(&user.sid),
            email: &account.email,
            verified: account.email_verified_at.is_some(),
            value,
            error,
            notice,
            user,
        },
    )
}

async fn account_of(app: &App, id: i64) -> Result<crate::accounts::Account> {
    app.account(id).await?.ok_or(Error::NotFound)
}

#[get("/account/email?<notice>")]
pub async fn email(
    user: AuthenticatedUser,
    notice: Option<&str>,
    app: &State<App>,
    lang: Lang,
) -> Result<Template> {
    mail_on(app)?;
    let account = account_of(app, user.id).await?;
    Ok(email_page(
        app,
        &user,
        &account,
        "",
        None,
        notice::text(notice),
        &lang,
    ))
}

#[derive(FromForm)]
pub struct EmailForm {
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for EmailForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Sets or changes the address (after a recent confirmation): the new one gets a link,
/// a verified old one a notice.
#[post("/account/email", data = "<form>")]
pub async fn set_email(
    user: AuthenticatedUser,
    form: Csrf<EmailForm>,
    client: ClientInfo,
    app: &State<App>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    mail_on(app)?;
    require_recent_confirmation(app, &user, "/account/email").await?;
    let email = form.into_inner().email.trim().to_string();
    let address = match crate::mail::parse_address(&email) {
        Ok(address) => address,
        Err(why) => {
            let key = match why {
                AddressError::Invalid => "msg-email-invalid",
                AddressError::NonAsciiLocal => "msg-email-ascii",
            };
            return Ok(Either::Right((
                Status::UnprocessableEntity,
                email_page(
                    app,
                    &user,
                    &account_of(app, user.id).await?,
                    &email,
                    Some(Message::new(key).text(lang.code)),
                    None,
                    &lang,
                ),
            )));
        }
    };
    // The same answer whether the address is free, claimed or another account's: its
    // owner is told by mail instead.
    match app.set_email(user.owner(&client), address).await? {
        None => Ok(Either::Left(Redirect::to(
            "/account/email?notice=email_sent",
        ))),
        Some(wait) => Err(Error::TooManyRequests {
            retry_after: wait as u64,
        }),
    }
}

/// A page with one button: following a link changes nothing until it is pressed (mail
/// scanners open links too).
fn confirm_page(
    lang: &Lang,
    template: &'static str,
    title: &'static str,
    token: &str,
    csrf: &str,
) -> Template {
    page(
        template,
        lang,
        context! { title_key: title, token, csrf_token: csrf },
    )
}

#[get("/account/email/verify?<token>")]
pub async fn verify_page(
    token: Option<&str>,
    app: &State<App>,
    csrf: PreSessionToken,
    lang: Lang,
) -> Result<Template> {
    mail_on(app)?;
    app.link_account(tokens::VERIFY_EMAIL, token.unwrap_or_default())
        .await?
        .ok_or(Error::NotFound)?;
    Ok(confirm_page(
        &lang,
        "account/email_verify",
        "title-email-verify",
        token.unwrap_or_default(),
        &csrf.0,
    ))
}

#[derive(FromForm)]
pub struct TokenForm {
    #[field(default = String::new())]
    token: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for TokenForm {
    const BEFORE_SIGN_IN: bool = true;
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/account/email/verify", data = "<form>")]
pub async fn verify(
    form: Csrf<TokenForm>,
    client: ClientInfo,
    signed_in: Option<AnySession>,
    app: &State<App>,
) -> Result<Redirect> {
    mail_on(app)?;
    match app
        .verify_email(form.into_inner().token, client.ip.clone())
        .await?
    {
        Some(_) if signed_in.is_some() => Ok(Redirect::to("/account/email?notice=email_verified")),
        Some(_) => Ok(Redirect::to("/login?notice=email_verified")),
        None => Err(Error::NotFound),
    }
}

fn forgot_page(lang: &Lang, csrf: &str, login: &str, done: bool) -> Template {
    page(
        "auth/forgot",
        lang,
        context! { title_key: "title-forgot", csrf_token: csrf, login, done },
    )
}

#[get("/password/forgot")]
pub fn forgot_form(app: &State<App>, csrf: PreSessionToken, lang: Lang) -> Result<Template> {
    mail_on(app)?;
    Ok(forgot_page(&lang, &csrf.0, "", false))
}

#[derive(FromForm)]
pub struct ForgotForm {
    #[field(default = String::new())]
    login: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for ForgotForm {
    const BEFORE_SIGN_IN: bool = true;
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// The same page and status whatever `login` is; the same work too (a look-up, a
/// throttle count and an audit row in one transaction), so that neither the answer nor
/// its time tells whether an account matches.
#[post("/password/forgot", data = "<form>")]
pub async fn forgot(
    form: Csrf<ForgotForm>,
    client: ClientInfo,
    csrf: PreSessionToken,
    app: &State<App>,
    lang: Lang,
) -> Result<(Status, Template)> {
    mail_on(app)?;
    let login = crate::text::printable(form.into_inner().login.trim(), 254);
    if let Err(wait) = app.request_password_reset(login, client.ip.clone()).await? {
        return Err(Error::TooManyRequests {
            retry_after: wait as u64,
        });
    }
    Ok((Status::Ok, forgot_page(&lang, &csrf.0, "", true)))
}

/// The page a reset or an invitation link opens.
struct LinkPage {
    /// The kind of token the link carries.
    kind: &'static str,
    template: &'static str,
    title: &'static str,
}

const RESET_PAGE: LinkPage = LinkPage {
    kind: tokens::RESET_PASSWORD,
    template: "auth/reset",
    title: "title-reset",
};

const INVITE_PAGE: LinkPage = LinkPage {
    kind: tokens::INVITATION,
    template: "auth/invite",
    title: "title-invite",
};

fn password_page(
    app: &App,
    lang: &Lang,
    which: &LinkPage,
    token: &str,
    csrf: &str,
    username: &str,
    error: Option<String>,
) -> Template {
    page(
        which.template,
        lang,
        context! {
            title_key: which.title,
            token,
            csrf_token: csrf,
            username,
            min_length: app.policy().min_length,
            error,
        },
    )
}

/// The account a reset or invitation link is for.
async fn link_account(
    app: &App,
    kind: &'static str,
    token: &str,
) -> Result<crate::accounts::Account> {
    app.link_account(kind, token).await?.ok_or(Error::NotFound)
}

/// The page a link opens: the account it is for, and the new-password form.
async fn link_form(
    app: &App,
    which: &LinkPage,
    token: Option<&str>,
    csrf: &PreSessionToken,
    lang: &Lang,
) -> Result<Template> {
    mail_on(app)?;
    let token = token.unwrap_or_default();
    let account = link_account(app, which.kind, token).await?;
    Ok(password_page(
        app,
        lang,
        which,
        token,
        &csrf.0,
        &account.username,
        None,
    ))
}

#[get("/password/reset?<token>")]
pub async fn reset_form(
    token: Option<&str>,
    app: &State<App>,
    csrf: PreSessionToken,
    lang: Lang,
) -> Result<Template> {
    link_form(app, &RESET_PAGE, token, &csrf, &lang).await
}

#[derive(FromForm)]
pub struct NewPasswordForm {
    #[field(default = String::new())]
    token: String,
    #[field(default = String::new())]
    password: String,
    #[field(default = String::new())]
    confirm: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for NewPasswordForm {
    const BEFORE_SIGN_IN: bool = true;
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Checks a new password for the account behind a link; the error to show, if any.
fn check_new_password(
    app: &App,
    form: &NewPasswordForm,
    username: &str,
    lang: &Lang,
) -> Option<String> {
    if let Err(msg) = app.policy().check(&form.password, username) {
        return Some(msg.text(lang.code));
    }
    (form.password != form.confirm).then(|| Message::new("msg-password-mismatch").text(lang.code))
}

/// The new password of a link's form, hashed; or the form again with why it was
/// refused. A link that does not work (any more) is 404.
async fn new_password(
    app: &App,
    which: &LinkPage,
    form: &NewPasswordForm,
    csrf: &PreSessionToken,
    lang: &Lang,
) -> Result<Either<String, (Status, Template)>> {
    mail_on(app)?;
    let account = link_account(app, which.kind, &form.token).await?;
    if let Some(error) = check_new_password(app, form, &account.username, lang) {
        return Ok(Either::Right((
            Status::UnprocessableEntity,
            password_page(
                app,
                lang,
                which,
                &form.token,
                &csrf.0,
                &account.username,
                Some(error),
            ),
        )));
    }
    Ok(Either::Left(
        app.hash_new_password(form.password.clone()).await?,
    ))
}

#[post("/password/reset", data = "<form>")]
pub async fn reset(
    form: Csrf<NewPasswordForm>,
    client: ClientInfo,
    csrf: PreSessionToken,
    app: &State<App>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    let form = form.into_inner();
    let hash = match new_password(app, &RESET_PAGE, &form, &csrf, &lang).await? {
        Either::Left(hash) => hash,
        Either::Right(refused) => return Ok(Either::Right(refused)),
    };
    let done = app
        .reset_password_with_link(form.token.clone(), hash, client.ip.clone())
        .await?;
    if !done {
        return Err(Error::NotFound);
    }
    Ok(Either::Left(Redirect::to(
        "/login?notice=password_reset_done",
    )))
}

#[get("/invite?<token>")]
pub async fn invite_form(
    token: Option<&str>,
    app: &State<App>,
    csrf: PreSessionToken,
    lang: Lang,
) -> Result<Template> {
    link_form(app, &INVITE_PAGE, token, &csrf, &lang).await
}

#[post("/invite", data = "<form>")]
pub async fn accept_invitation(
    form: Csrf<NewPasswordForm>,
    client: ClientInfo,
    csrf: PreSessionToken,
    app: &State<App>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    let form = form.into_inner();
    let hash = match new_password(app, &INVITE_PAGE, &form, &csrf, &lang).await? {
        Either::Left(hash) => hash,
        Either::Right(refused) => return Ok(Either::Right(refused)),
    };
    let accepted = app
        .accept_invitation(form.token.clone(), hash, client.ip.clone())
        .await?;
    match accepted {
        Some(_) => Ok(Either::Left(Redirect::to(
            "/login?notice=invitation_accepted",
        ))),
        None => Err(Error::NotFound),
    }
}
