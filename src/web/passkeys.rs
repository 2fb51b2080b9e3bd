//! Passkeys' pages: `/account/passkeys` (list, add, rename, remove), the sign-in with a
//! passkey (`POST /login/passkey`), and the options each page hands to
//! `/static/passkeys.js` in its form's `data-passkey-options`. With passkeys off (an IP
//! address as `public_url`'s host, or a request to anything but localhost without
//! `public_url`) these routes answer 404 and no page shows the controls.

use std::sync::Arc;

use rocket::http::{CookieJar, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use rocket::response::Redirect;
use rocket::{Either, State};

use crate::accounts::Account;
use crate::app::{App, PasskeyAdded, PasskeySignInAttempt, SignIn};
use crate::context;
use crate::i18n::Message;
use crate::second_factor::passkeys::{self, Kept, RelyingParty};
use crate::web::auth::{Destination, TokenOnly};
use crate::web::client::ClientInfo;
use crate::web::csrf::{Csrf, CsrfProtected};
use crate::web::engine::Template;
use crate::web::error::{Error, Result};
use crate::web::lang::{page, Lang};
use crate::web::notice;
use crate::web::second_factor::require_recent_confirmation;
use crate::web::session::{self, AnySession, AuthenticatedUser, Duty};

/// Passkeys are on for this request: the relying party.
pub struct PasskeysOn(pub Arc<RelyingParty>);

/// Whether the request's host is `localhost` (with any port).
fn to_localhost(req: &Request<'_>) -> bool {
    req.headers().get_one("Host").is_some_and(|host| {
        let name = host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                name
            } else {
                host
            }
        });
        name.eq_ignore_ascii_case("localhost")
    })
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PasskeysOn {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let rp = req
            .rocket()
            .state::<App>()
            .and_then(|app| app.passkeys_relying_party());
        match rp {
            Some(rp) if !rp.localhost_only || to_localhost(req) => Outcome::Success(PasskeysOn(rp)),
            _ => Outcome::Error((Status::NotFound, ())),
        }
    }
}

/// The pre-session value of this browser (made by `PreSessionToken` in this request if it
/// had none).
pub fn presession_value(jar: &CookieJar<'_>, app: &App) -> Option<String> {
    jar.get_pending(session::names(app).presession)
        .map(|c| c.value().to_string())
        .filter(|v| crate::random::is_token::<32>(v))
}

/// The options of the sign-in page's passkey form, when passkeys are on. A failure to
/// make them, or an address that was shown too many of them lately
/// (`SIGN_IN_PAGES_PER_ADDRESS`), leaves the page without the passkey button (a password
/// still works).
pub async fn sign_in_options(
    on: &Option<PasskeysOn>,
    jar: &CookieJar<'_>,
    app: &App,
    ip: &str,
) -> Option<String> {
    on.as_ref()?;
    let presession = presession_value(jar, app)?;
    app.may_offer_passkey_sign_in(ip).then_some(())?;
    match app.passkey_sign_in_options(&presession).await {
        Ok(options) => Some(options),
        Err(e) => {
            log::warn!("passkey sign-in options: {e}");
            None
        }
    }
}

/// The options listing the account's passkeys (the second step, "confirm it's you").
pub async fn account_options(
    on: &Option<PasskeysOn>,
    app: &App,
    kind: &'static str,
    binding: String,
    account_id: i64,
) -> Option<String> {
    on.as_ref()?;
    match app.passkey_account_options(kind, binding, account_id).await {
        Ok(options) => options,
        Err(e) => {
            log::warn!("passkey options: {e}");
            None
        }
    }
}

struct Listing {
    account: Account,
    passkeys: Vec<passkeys::PasskeyRow>,
    codes_left: i64,
}

async fn listing(app: &App, id: i64) -> Result<Listing> {
    let (account, passkeys, codes_left) = app.passkey_listing(id).await?;
    Ok(Listing {
        account,
        passkeys,
        codes_left,
    })
}

async fn passkeys_page(
    app: &App,
    user: &AuthenticatedUser,
    notice: Option<&str>,
    error: Option<&str>,
    lang: &Lang,
) -> Result<Template> {
    let list = listing(app, user.id).await?;
    let options = app
        .passkey_registration_options(&list.account, &user.sid)
        .await?;
    let required = app.settings().require_2fa.covers(list.account.role());
    Ok(page(
        "account/passkeys",
        lang,
        context! {
            title_key: "title-passkeys",
            csrf_token: app.csrf().for_session(&user.sid),
            passkeys: list.passkeys,
            passkey_options: options,
            codes_left: list.codes_left,
            totp: list.account.has_totp(),
            required,
            forced: user.must_enrol,
            notice,
            error,
            user,
        },
    ))
}

/// The duty pages that are not this one come first (a new password).
fn other_duty(user: &AuthenticatedUser) -> Option<Redirect> {
    (user.duty() == Duty::ChangePassword).then(|| Redirect::to(Duty::ChangePassword.page()))
}

#[get("/account/passkeys?<notice>")]
pub async fn list(
    _on: PasskeysOn,
    user: AnySession,
    notice: Option<&str>,
    app: &State<App>,
    lang: Lang,
) -> Result<Either<Redirect, Template>> {
    let user = user.0;
    if let Some(r) = other_duty(&user) {
        return Ok(Either::Left(r));
    }
    Ok(Either::Right(
        passkeys_page(app, &user, notice::text(notice), None, &lang).await?,
    ))
}

#[derive(FromForm)]
pub struct RegisterForm {
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    credential: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for RegisterForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Adds the passkey the browser made. Needs a recent confirmation, but for the forced
/// enrolment right after signing in (which adding one ends).
#[post("/account/passkeys/register", data = "<form>")]
pub async fn register(
    _on: PasskeysOn,
    user: AnySession,
    form: Csrf<RegisterForm>,
    client: ClientInfo,
    app: &State<App>,
    jar: &CookieJar<'_>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    let (user, form) = (user.0, form.into_inner());
    if let Some(r) = other_duty(&user) {
        return Ok(Either::Left(r));
    }
    if !user.must_enrol {
        require_recent_confirmation(app, &user, "/account/passkeys").await?;
    }
    let fallback = Message::new("passkey-default-name").text(lang.code);
    let name = passkeys::clean_name(&form.name, &fallback);
    let added = match app
        .add_passkey(&user.owner(&client), &name, &form.credential)
        .await
    {
        Ok(added) => added,
        Err(e) if e.is_conflict() => {
            let error = Message::new("msg-passkey-taken").text(lang.code);
            let page = passkeys_page(app, &user, None, Some(&error), &lang).await?;
            return Ok(Either::Right((Status::Conflict, page)));
        }
        Err(e) => return Err(e.into()),
    };
    let codes = match added {
        PasskeyAdded::Added { codes, .. } => codes,
        PasskeyAdded::Refused => {
            let error = Message::new("msg-passkey-refused").text(lang.code);
            let page = passkeys_page(app, &user, None, Some(&error), &lang).await?;
            return Ok(Either::Right((Status::UnprocessableEntity, page)));
        }
    };
    let mut user = user;
    if user.must_enrol {
        // This session goes on, with a token that no longer asks for enrolment.
        let now = app.now();
        let access = app.fresh_access_token(user.id, &user.sid).await?;
        session::set_cookies(jar, app, access, None, now);
        user.must_enrol = false;
    }
    match codes {
        Some(codes) => Ok(Either::Right((
            Status::Ok,
            page(
                "account/recovery_codes",
                &lang,
                context! { title_key: "title-recovery-codes", codes, passkey_added: true, user },
            ),
        ))),
        None => Ok(Either::Left(Redirect::to(
            "/account/passkeys?notice=passkey_added",
        ))),
    }
}

#[derive(FromForm)]
pub struct RenameForm {
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for RenameForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

fn parse_id(id: &str) -> Result<i64> {
    id.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(Error::NotFound)
}

#[post("/account/passkeys/<id>/rename", data = "<form>")]
pub async fn rename(
    _on: PasskeysOn,
    id: &str,
    user: AuthenticatedUser,
    form: Csrf<RenameForm>,
    client: ClientInfo,
    app: &State<App>,
    lang: Lang,
) -> Result<Redirect> {
    let id = parse_id(id)?;
    require_recent_confirmation(app, &user, "/account/passkeys").await?;
    let fallback = Message::new("passkey-default-name").text(lang.code);
    let name = passkeys::clean_name(&form.into_inner().name, &fallback);
    app.rename_passkey(user.owner(&client), id, name).await?;
    Ok(Redirect::to("/account/passkeys?notice=passkey_renamed"))
}

#[post("/account/passkeys/<id>/delete", data = "<_form>")]
pub async fn delete(
    _on: PasskeysOn,
    id: &str,
    user: AuthenticatedUser,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    let id = parse_id(id)?;
    require_recent_confirmation(app, &user, "/account/passkeys").await?;
    let required = app.settings().require_2fa.covers(user.role);
    let kept = app
        .remove_passkey(user.owner(&client), id, required)
        .await?;
    match kept {
        None => Ok(Either::Left(Redirect::to(
            "/account/passkeys?notice=passkey_removed",
        ))),
        Some(Kept::LastMethod) => {
            let error = Message::new("msg-passkey-last").text(lang.code);
            let page = passkeys_page(app, &user, None, Some(&error), &lang).await?;
            Ok(Either::Right((Status::Conflict, page)))
        }
    }
}

#[derive(FromForm)]
pub struct PasskeyLoginForm {
    #[field(default = String::new())]
    credential: String,
    #[field(default = false)]
    remember: bool,
    #[field(default = String::new())]
    next: String,
    #[field(default = String::new())]
    rd: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for PasskeyLoginForm {
    const BEFORE_SIGN_IN: bool = true;
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// A whole sign-in with a discoverable passkey: the session starts as after a password
/// (and a second factor), with the same cookies.
#[post("/login/passkey", data = "<form>")]
pub async fn sign_in(
    on: PasskeysOn,
    form: Csrf<PasskeyLoginForm>,
    client: ClientInfo,
    app: &State<App>,
    jar: &CookieJar<'_>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    let form = form.into_inner();
    let dest = Destination::new(app, Some(&form.next), Some(&form.rd));
    let presession = presession_value(jar, app).unwrap_or_default();
    let device = jar
        .get(session::names(app).device)
        .map(|c| c.value().to_string());
    let attempt = PasskeySignInAttempt {
        credential: &form.credential,
        presession: &presession,
        remember: form.remember,
        ip: &client.ip,
        user_agent: &client.user_agent,
        device: device.as_deref(),
    };
    match app.passkey_sign_in(&attempt).await? {
        SignIn::Success(signed_in) => Ok(Either::Left(crate::web::auth::signed_in_answer(
            jar, app, signed_in, &dest,
        )?)),
        SignIn::Throttled(wait) => Err(Error::TooManyRequests {
            retry_after: wait.max(1) as u64,
        }),
        SignIn::SecondFactor(_) | SignIn::Failed => {
            let on = Some(on);
            let options = sign_in_options(&on, jar, app, &client.ip).await;
            let token = app.csrf().for_presession(&presession);
            Ok(Either::Right((
                Status::Unauthorized,
                crate::web::auth::login_form(
                    app,
                    &dest,
                    &token,
                    "",
                    Some("passkey-sign-in-failed"),
                    None,
                    options.as_deref(),
                    &lang,
                ),
            )))
        }
    }
}

/// An administrator removes one passkey of an account (lost or stolen).
#[post("/admin/users/<id>/passkeys/<pid>/delete", data = "<_form>")]
pub async fn admin_delete(
    _on: PasskeysOn,
    admin: session::AdminUser,
    id: &str,
    pid: &str,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    let pid = parse_id(pid)?;
    crate::web::admin::act(
        app,
        &admin,
        &client,
        id,
        "passkey_removed",
        crate::web::admin::Landing::Account,
        crate::app::AdminAction::RemovePasskey(pid),
    )
    .await
}
