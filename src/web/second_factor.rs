//! The second factor's pages: enrolment and status (`/account/2fa`), new recovery codes,
//! turning it off, and "confirm it's you" (`/reauth`).

use crate::context;
use crate::web::engine::Template;
use rocket::http::{CookieJar, Status};
use rocket::response::Redirect;
use rocket::{Either, State};

use crate::accounts::Account;
use crate::app::{App, Reauth};
use crate::i18n::Message;
use crate::web::auth::{safe_next, TokenOnly};
use crate::web::client::ClientInfo;
use crate::web::csrf::{Csrf, CsrfProtected};
use crate::web::error::{Error, Result};
use crate::web::lang::{page, Lang};
use crate::web::notice;
use crate::web::passkeys::PasskeysOn;
use crate::web::session::{self, AnySession, AuthenticatedUser, Duty};

/// Sensitive actions need a confirmation in this session within `reauth_window`;
/// without one, the action changes nothing and the browser is sent to `/reauth`, then
/// back to `form_page`.
pub async fn require_recent_confirmation(
    app: &App,
    user: &AuthenticatedUser,
    form_page: &str,
) -> Result<()> {
    if app.recently_confirmed(&user.sid).await? {
        Ok(())
    } else {
        Err(Error::Reauthenticate(form_page.to_string()))
    }
}

async fn load(app: &App, id: i64) -> Result<(Account, i64)> {
    Ok(app.second_factor_status(id).await?)
}

#[allow(clippy::too_many_arguments)]
fn status_page(
    app: &App,
    passkeys_on: bool,
    user: &AuthenticatedUser,
    account: &Account,
    codes_left: i64,
    notice: Option<&str>,
    error: Option<&str>,
    lang: &Lang,
) -> Result<Template> {
    // Under the policy, TOTP may be turned off only while a passkey stays.
    let required = app.settings().require_2fa.covers(account.role()) && account.passkeys == 0;
    let offer = if account.has_totp() {
        None
    } else {
        Some(app.enrolment_offer(account)?)
    };
    Ok(page(
        "account/2fa",
        lang,
        context! {
            title_key: "title-second-factor",
            csrf_token: app.csrf().for_session(&user.sid),
            enabled: account.has_totp(),
            enabled_at: account.totp_enabled_at,
            recovery_used_at: account.recovery_used_at,
            codes_left,
            required,
            forced: user.must_enrol,
            passkeys_on,
            offer_sealed: offer.as_ref().map(|o| o.sealed.clone()),
            offer_base32: offer.as_ref().map(|o| o.base32.clone()),
            offer_uri: offer.as_ref().map(|o| uri_html(&o.uri)),
            offer_qr: offer.as_ref().map(|o| o.qr_svg.clone()),
            notice,
            error,
            user,
        },
    ))
}

/// The `otpauth://` URI as it goes into the page, readable as written (`&` kept as is:
/// HTML allows it before `issuer=`); anything outside the characters such a URI is made
/// of is escaped instead.
fn uri_html(uri: &str) -> String {
    let plain = uri
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ":/?=&%._-".contains(c));
    if plain {
        uri.to_string()
    } else {
        crate::text::escape_html(uri)
    }
}

/// Renders a page that shows new recovery codes once.
fn codes_page(
    user: &AuthenticatedUser,
    codes: &[String],
    continue_to: Option<&str>,
    lang: &Lang,
) -> Template {
    let continue_to = continue_to.unwrap_or("/dashboard");
    page(
        "account/recovery_codes",
        lang,
        context! { title_key: "title-recovery-codes", codes, user, continue_to },
    )
}

#[get("/account/2fa?<notice>")]
pub async fn status(
    user: AnySession,
    notice: Option<&str>,
    passkeys: Option<PasskeysOn>,
    app: &State<App>,
    lang: Lang,
) -> Result<Either<Redirect, Template>> {
    let user = user.0;
    if user.duty() == Duty::ChangePassword {
        return Ok(Either::Left(Redirect::to(Duty::ChangePassword.page())));
    }
    let (account, left) = load(app, user.id).await?;
    Ok(Either::Right(status_page(
        app,
        passkeys.is_some(),
        &user,
        &account,
        left,
        notice::text(notice),
        None,
        &lang,
    )?))
}

#[derive(FromForm)]
pub struct EnrolForm {
    #[field(default = String::new())]
    enrolment: String,
    #[field(default = String::new())]
    code: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for EnrolForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// A right code completes enrolment: the recovery codes are shown, once.
#[post("/account/2fa", data = "<form>")]
#[allow(clippy::too_many_arguments)]
pub async fn enrol(
    user: AnySession,
    form: Csrf<EnrolForm>,
    authorizing: crate::web::oidc::AuthorizationInProgress,
    client: ClientInfo,
    passkeys: Option<PasskeysOn>,
    app: &State<App>,
    jar: &CookieJar<'_>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    let (user, form) = (user.0, form.into_inner());
    if user.duty() == Duty::ChangePassword {
        return Ok(Either::Left(Redirect::to(Duty::ChangePassword.page())));
    }
    let owner = user.owner(&client);
    let code = crate::text::printable(&form.code, 64);
    match app.enrol(&owner, &form.enrolment, &code).await {
        Ok(Some(codes)) => {
            // This session goes on, with a token that no longer asks for enrolment.
            let now = app.now();
            let access = app.fresh_access_token(user.id, &user.sid).await?;
            session::set_cookies(jar, app, access, None, now);
            let user = AuthenticatedUser {
                must_enrol: false,
                ..user
            };
            Ok(Either::Right((
                Status::Ok,
                codes_page(&user, &codes, authorizing.0.as_deref(), &lang),
            )))
        }
        Ok(None) => {
            let (account, left) = load(app, user.id).await?;
            let error = Message::new("msg-code-wrong").text(lang.code);
            let page = status_page(
                app,
                passkeys.is_some(),
                &user,
                &account,
                left,
                None,
                Some(&error),
                &lang,
            )?;
            Ok(Either::Right((Status::UnprocessableEntity, page)))
        }
        Err(e) if e.is_conflict() => Ok(Either::Left(Redirect::to("/account/2fa"))),
        Err(e) => Err(e.into()),
    }
}

#[post("/account/2fa/recovery-codes", data = "<_form>")]
pub async fn regenerate_codes(
    user: AuthenticatedUser,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
    lang: Lang,
) -> Result<Template> {
    require_recent_confirmation(app, &user, "/account/2fa").await?;
    let codes = app.regenerate_recovery_codes(&user.owner(&client)).await?;
    Ok(codes_page(&user, &codes, None, &lang))
}

#[post("/account/2fa/disable", data = "<_form>")]
pub async fn disable(
    user: AuthenticatedUser,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    require_recent_confirmation(app, &user, "/account/2fa").await?;
    // Under `require_2fa`, TOTP may go only while a passkey stays.
    let id = user.id;
    let has_passkeys = app.account(id).await?.is_some_and(|a| a.passkeys > 0);
    if app.settings().require_2fa.covers(user.role) && !has_passkeys {
        return Err(Error::Forbidden(Message::new("msg-2fa-required")));
    }
    app.disable_second_factor(user.owner(&client)).await?;
    Ok(Redirect::to("/account/2fa?notice=2fa_disabled"))
}

/// "Confirm it's you": the password, and where a second factor is set, a code or (with
/// passkeys on and the account having one) a passkey.
async fn reauth_form(
    app: &App,
    passkeys: &Option<PasskeysOn>,
    user: &AuthenticatedUser,
    next: &str,
    error: Option<String>,
    lang: &Lang,
) -> Result<Template> {
    let account = app.account(user.id).await?.ok_or(Error::NotFound)?;
    let passkey_options = crate::web::passkeys::account_options(
        passkeys,
        app,
        crate::second_factor::passkeys::kind::REAUTH,
        crate::second_factor::passkeys::session_binding(&user.sid),
        user.id,
    )
    .await;
    Ok(page(
        "auth/reauth",
        lang,
        context! {
            title_key: "title-reauth",
            csrf_token: app.csrf().for_session(&user.sid),
            next,
            needs_code: account.has_second_factor(),
            totp: account.has_totp(),
            passkey_options,
            error,
            user,
        },
    ))
}

#[get("/reauth?<next>")]
pub async fn reauth_page(
    user: AuthenticatedUser,
    next: Option<&str>,
    passkeys: Option<PasskeysOn>,
    app: &State<App>,
    lang: Lang,
) -> Result<Template> {
    reauth_form(app, &passkeys, &user, &safe_next(next), None, &lang).await
}

#[derive(FromForm)]
pub struct ReauthForm {
    #[field(default = String::new())]
    password: String,
    #[field(default = String::new())]
    code: String,
    /// A passkey's answer instead of the code.
    #[field(default = String::new())]
    credential: String,
    #[field(default = String::new())]
    next: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for ReauthForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[allow(clippy::too_many_arguments)]
#[post("/reauth", data = "<form>")]
pub async fn reauth(
    user: AuthenticatedUser,
    form: Csrf<ReauthForm>,
    client: ClientInfo,
    passkeys: Option<PasskeysOn>,
    app: &State<App>,
    jar: &CookieJar<'_>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    let form = form.into_inner();
    let next = safe_next(Some(&form.next));
    let code = crate::text::printable(&form.code, 64);
    let credential = if passkeys.is_some() {
        form.credential.as_str()
    } else {
        ""
    };
    match app
        .reauthenticate(&user.owner(&client), &form.password, &code, credential)
        .await?
    {
        Reauth::Confirmed => Ok(Either::Left(Redirect::to(next))),
        Reauth::Refused(msg) => {
            let page = reauth_form(
                app,
                &passkeys,
                &user,
                &next,
                Some(msg.text(lang.code)),
                &lang,
            )
            .await?;
            Ok(Either::Right((Status::Unauthorized, page)))
        }
        Reauth::Throttled(wait) => Err(Error::TooManyRequests {
            retry_after: wait.max(1) as u64,
        }),
        Reauth::SignedOut => {
            session::clear_cookies(jar, app);
            Ok(Either::Left(Redirect::to("/login?notice=signed_out")))
        }
    }
}
