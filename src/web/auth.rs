//! Sign-in and sign-out pages.

use crate::context;
use crate::web::engine::Template;
use rocket::http::uri::Origin;
use rocket::http::{CookieJar, Status};
use rocket::response::Redirect;
use rocket::Either;
use rocket::State;

use crate::app::{App, SignIn, SignInAttempt, SignedIn};
use crate::sessions::SIGN_IN_FAILED;
use crate::web::client::ClientInfo;
use crate::web::csrf::{Csrf, CsrfProtected, PreSessionToken};
use crate::web::error::{Error, Result};
use crate::web::lang::{page, Lang};
use crate::web::passkeys::PasskeysOn;
use crate::web::session::{self, AnySession};

/// Where to go after signing in: a local path only. Anything that could leave the site
/// (`//host`, `/\host`, a scheme, control characters browsers strip) falls back to the
/// dashboard.
pub fn safe_next(next: Option<&str>) -> String {
    const DEFAULT: &str = "/dashboard";
    let Some(next) = next else {
        return DEFAULT.into();
    };
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
        && next.len() <= 2048
        && Origin::parse(next).is_ok();
    if local {
        next.to_string()
    } else {
        DEFAULT.into()
    }
}

/// Where to go after signing in: a local path (`next`), or, for an app behind forward
/// auth, `rd`: an absolute URL on `cookie_domain` or one of its subdomains, over https (or
/// http when `cookie_secure` is off). Anything else in `rd` is ignored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Destination {
    pub next: String,
    pub rd: Option<String>,
}

impl Destination {
    pub fn new(app: &App, next: Option<&str>, rd: Option<&str>) -> Destination {
        Destination {
            next: safe_next(next),
            rd: rd.and_then(|rd| valid_rd(app, rd)),
        }
    }

    /// The one to go to.
    pub fn target(&self) -> String {
        self.rd.clone().unwrap_or_else(|| self.next.clone())
    }

    /// The query that carries it to the next page.
    pub fn query(&self) -> String {
        let enc = crate::text::query_value;
        match &self.rd {
            Some(rd) => format!("next={}&rd={}", enc(&self.next), enc(rd)),
            None => format!("next={}", enc(&self.next)),
        }
    }
}

/// `rd` when it is an URL of the cookie domain (see `Destination`), parsed as forward
/// auth parses its targets and written back canonically (so that it is a valid
/// `Location`); anything else is ignored.
pub fn valid_rd(app: &App, rd: &str) -> Option<String> {
    let domain = app.settings().cookie_domain.as_deref()?;
    let target = crate::forward::Target::from_url(rd).ok()?;
    let scheme_ok = match target.scheme() {
        crate::forward::Scheme::Https => true,
        crate::forward::Scheme::Http => !app.settings().cookie_secure,
    };
    let inside = crate::forward::target::within_domain(target.host(), domain, true);
    let url = target.url();
    (scheme_ok && inside && rocket::http::uri::Absolute::parse(&url).is_ok()).then_some(url)
}

/// The sign-in page; `passkey_options` (the request options of a discoverable passkey)
/// when passkeys are on.
#[allow(clippy::too_many_arguments)]
pub fn login_form(
    app: &App,
    dest: &Destination,
    token: &str,
    username: &str,
    error: Option<&str>,
    notice: Option<&str>,
    passkey_options: Option<&str>,
    lang: &Lang,
) -> Template {
    page(
        "auth/login",
        lang,
        context! { next: &dest.next, rd: &dest.rd, csrf_token: token, username, error, notice, forgot: app.mail_on(), passkey_options, title_key: "title-sign-in" },
    )
}

#[allow(clippy::too_many_arguments)]
#[get("/login?<next>&<notice>&<rd>")]
pub async fn login_page(
    next: Option<&str>,
    notice: Option<&str>,
    rd: Option<&str>,
    user: Option<AnySession>,
    token: PreSessionToken,
    passkeys: Option<PasskeysOn>,
    client: ClientInfo,
    app: &State<App>,
    jar: &CookieJar<'_>,
    lang: Lang,
) -> Either<Redirect, Template> {
    let dest = Destination::new(app, next, rd);
    if let Some(AnySession(user)) = user {
        // Signed in: back where they came from, unless a duty comes first (an app
        // would only send them here again).
        return Either::Left(Redirect::to(match user.duty() {
            session::Duty::None => dest.target(),
            duty => duty.page().to_string(),
        }));
    }
    let options = crate::web::passkeys::sign_in_options(&passkeys, jar, app, &client.ip).await;
    Either::Right(login_form(
        app,
        &dest,
        &token.0,
        "",
        None,
        crate::web::notice::text(notice),
        options.as_deref(),
        &lang,
    ))
}

#[derive(FromForm)]
pub struct LoginForm {
    username: String,
    password: String,
    remember: bool,
    #[field(default = String::new())]
    next: String,
    #[field(default = String::new())]
    rd: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for LoginForm {
    const BEFORE_SIGN_IN: bool = true;
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// What every sign-in that started a session answers (a password, the second step, a
/// passkey): the session's cookies, a device cookie for a browser not known yet, fresh
/// pre-session form tokens (the forms shown before are done with), and the way on.
pub fn signed_in_answer(
    jar: &CookieJar<'_>,
    app: &App,
    signed_in: SignedIn,
    dest: &Destination,
) -> Result<Redirect> {
    session::set_cookies(
        jar,
        app,
        signed_in.access,
        Some(&signed_in.refresh),
        signed_in.now,
    );
    if let Some(token) = signed_in.device {
        session::set_device_cookie(jar, app, token);
    }
    crate::web::csrf::renew_presession(jar, app)?;
    Ok(Redirect::to(dest.target()))
}

#[allow(clippy::too_many_arguments)]
#[post("/login", data = "<form>")]
pub async fn login(
    form: Csrf<LoginForm>,
    client: ClientInfo,
    token: PreSessionToken,
    passkeys: Option<PasskeysOn>,
    app: &State<App>,
    jar: &CookieJar<'_>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    let form = form.into_inner();
    let dest = Destination::new(app, Some(&form.next), Some(&form.rd));
    let device = jar
        .get(session::names(app).device)
        .map(|c| c.value().to_string());
    let attempt = SignInAttempt {
        username: &form.username,
        password: &form.password,
        remember: form.remember,
        ip: &client.ip,
        user_agent: &client.user_agent,
        device: device.as_deref(),
    };
    match app.sign_in(&attempt).await? {
        SignIn::Success(signed_in) => {
            Ok(Either::Left(signed_in_answer(jar, app, signed_in, &dest)?))
        }
        SignIn::SecondFactor(pending) => {
            session::set_pending_cookie(jar, app, pending);
            Ok(Either::Left(Redirect::to(format!(
                "/login/2fa?{}",
                dest.query()
            ))))
        }
        SignIn::Throttled(wait) => Err(Error::TooManyRequests {
            retry_after: wait.max(1) as u64,
        }),
        SignIn::Failed => {
            let options =
                crate::web::passkeys::sign_in_options(&passkeys, jar, app, &client.ip).await;
            Ok(Either::Right((
                Status::Unauthorized,
                login_form(
                    app,
                    &dest,
                    &token.0,
                    &form.username,
                    Some(SIGN_IN_FAILED),
                    None,
                    options.as_deref(),
                    &lang,
                ),
            )))
        }
    }
}

#[get("/logout")]
pub fn logout_page(user: AnySession, app: &State<App>, lang: Lang) -> Template {
    let user = user.0;
    let csrf_token = app.csrf().for_session(&user.sid);
    page(
        "auth/logout",
        &lang,
        context! { user, csrf_token, title_key: "title-sign-out" },
    )
}

#[derive(FromForm)]
pub struct TokenOnly {
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for TokenOnly {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/logout", data = "<_form>")]
pub async fn logout(
    user: AnySession,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
    jar: &CookieJar<'_>,
) -> Result<Redirect> {
    app.sign_out(user.0.owner(&client)).await?;
    session::clear_cookies(jar, app);
    Ok(Redirect::to("/login?notice=signed_out"))
}

struct SecondStepPage<'a> {
    dest: &'a Destination,
    token: &'a str,
    error: Option<&'a str>,
    left: Option<i32>,
    /// The request options listing the account's passkeys, if it has any.
    passkey_options: Option<String>,
    /// Whether the account has TOTP (else only a passkey or a recovery code).
    totp: bool,
}

fn second_step_form(p: SecondStepPage<'_>, lang: &Lang) -> Template {
    page(
        "auth/login_2fa",
        lang,
        context! { next: &p.dest.next, rd: &p.dest.rd, csrf_token: p.token, error: p.error, left: p.left, passkey_options: p.passkey_options, totp: p.totp, title_key: "title-second-factor" },
    )
}

/// What the second step's page offers the pending sign-in of `pending`: the options of
/// its account's passkeys, and whether it has TOTP.
async fn second_step_offer(
    app: &App,
    passkeys: &Option<PasskeysOn>,
    pending: &str,
) -> Result<(Option<String>, bool)> {
    let found = app.pending_sign_in(pending).await?;
    let Some((token_hash, account)) = found else {
        return Ok((None, true));
    };
    let options = crate::web::passkeys::account_options(
        passkeys,
        app,
        crate::second_factor::passkeys::kind::SECOND_STEP,
        crate::second_factor::passkeys::pending_binding(&token_hash),
        account.id,
    )
    .await;
    Ok((options, account.has_totp()))
}

/// The second step of a sign-in: only for a browser with a pending sign-in.
#[get("/login/2fa?<next>&<rd>")]
pub async fn second_step_page(
    next: Option<&str>,
    rd: Option<&str>,
    token: PreSessionToken,
    passkeys: Option<PasskeysOn>,
    jar: &CookieJar<'_>,
    app: &State<App>,
    lang: Lang,
) -> Result<Either<Redirect, Template>> {
    let Some(pending) = session::pending_cookie(jar, app) else {
        return Ok(Either::Left(Redirect::to("/login")));
    };
    let dest = Destination::new(app, next, rd);
    let (passkey_options, totp) = second_step_offer(app, &passkeys, &pending).await?;
    Ok(Either::Right(second_step_form(
        SecondStepPage {
            dest: &dest,
            token: &token.0,
            error: None,
            left: None,
            passkey_options,
            totp,
        },
        &lang,
    )))
}

#[derive(FromForm)]
pub struct SecondStepForm {
    #[field(default = String::new())]
    code: String,
    /// A passkey's answer instead of the code.
    #[field(default = String::new())]
    credential: String,
    #[field(default = String::new())]
    next: String,
    #[field(default = String::new())]
    rd: String,
    #[field(default = String::new())]
    csrf_token: String,
}

impl CsrfProtected for SecondStepForm {
    const BEFORE_SIGN_IN: bool = true;
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[allow(clippy::too_many_arguments)]
#[post("/login/2fa", data = "<form>")]
pub async fn second_step(
    form: Csrf<SecondStepForm>,
    client: ClientInfo,
    token: PreSessionToken,
    passkeys: Option<PasskeysOn>,
    app: &State<App>,
    jar: &CookieJar<'_>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    use crate::app::SecondStepResult;
    let form = form.into_inner();
    let dest = Destination::new(app, Some(&form.next), Some(&form.rd));
    let pending = session::pending_cookie(jar, app).unwrap_or_default();
    let code = crate::text::printable(&form.code, 64);
    let device = jar
        .get(session::names(app).device)
        .map(|c| c.value().to_string());
    match app
        .second_step(
            &pending,
            &code,
            if passkeys.is_some() {
                form.credential.as_str()
            } else {
                ""
            },
            &client.ip,
            &client.user_agent,
            device.as_deref(),
        )
        .await?
    {
        SecondStepResult::Success(signed_in) => {
            session::clear_pending_cookie(jar, app);
            Ok(Either::Left(signed_in_answer(jar, app, signed_in, &dest)?))
        }
        SecondStepResult::Wrong(left) => {
            let (passkey_options, totp) = second_step_offer(app, &passkeys, &pending).await?;
            let error = if form.credential.is_empty() || passkeys.is_none() {
                "msg-code-wrong"
            } else {
                "msg-passkey-wrong"
            };
            Ok(Either::Right((
                Status::Unauthorized,
                second_step_form(
                    SecondStepPage {
                        dest: &dest,
                        token: &token.0,
                        error: Some(error),
                        left: Some(left),
                        passkey_options,
                        totp,
                    },
                    &lang,
                ),
            )))
        }
        SecondStepResult::Gone => {
            session::clear_pending_cookie(jar, app);
            Ok(Either::Left(Redirect::to("/login?notice=second_step_over")))
        }
        SecondStepResult::Throttled(wait) => Err(Error::TooManyRequests {
            retry_after: wait.max(1) as u64,
        }),
    }
}
