//! Who is asking: the access and refresh cookies, and the request guards built on them.
//!
//! `AuthenticatedUser` is the signed-in hot path: cookie → cached or verified JWT → one
//! read of the in-memory revocation view → done, with no database query. Only when the
//! access token is missing or expired is the refresh token used (rotated) once.

use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use serde::Serialize;

use crate::accounts::{Account, Role};
use crate::app::App;
use crate::sessions::store::{self, IssuedRefresh, Rotation};
use crate::sessions::tokens::Claims;
use crate::web::client::ClientInfo;
use crate::web::error::{Error, Result};

pub const ACCESS_COOKIE: &str = "__Host-access";
pub const REFRESH_COOKIE: &str = "__Host-refresh";
/// With `cookie_domain`: the same cookies for the whole domain.
pub const DOMAIN_ACCESS_COOKIE: &str = "__Secure-access";
pub const DOMAIN_REFRESH_COOKIE: &str = "__Secure-refresh";

/// A signed token naming the account this browser signed in to (see `sessions::device`).
pub const DEVICE_COOKIE: &str = "__Host-device";
/// A sign-in waiting for its second factor (see `sessions::pending`).
pub const PENDING_COOKIE: &str = "__Host-pending";
/// The pre-session value that forms shown before sign-in are bound to (`web::csrf`).
pub const PRESESSION_COOKIE: &str = "__Host-presession";

/// The names of every cookie Gatehouse sets, under the settings in force.
#[derive(Debug)]
pub struct CookieNames {
    pub access: &'static str,
    pub refresh: &'static str,
    pub device: &'static str,
    pub pending: &'static str,
    pub presession: &'static str,
}

/// For this host only (SPEC §3).
const HOST_NAMES: CookieNames = CookieNames {
    access: ACCESS_COOKIE,
    refresh: REFRESH_COOKIE,
    device: DEVICE_COOKIE,
    pending: PENDING_COOKIE,
    presession: PRESESSION_COOKIE,
};
/// With `cookie_domain`: the session cookies for the whole domain.
const DOMAIN_NAMES: CookieNames = CookieNames {
    access: DOMAIN_ACCESS_COOKIE,
    refresh: DOMAIN_REFRESH_COOKIE,
    ..HOST_NAMES
};
/// With `cookie_secure = false`: browsers refuse `__Host-` and `__Secure-` cookies
/// without `Secure`, so the names carry no prefix (plain-HTTP testing only).
const PLAIN_NAMES: CookieNames = CookieNames {
    access: "gatehouse-access",
    refresh: "gatehouse-refresh",
    device: "gatehouse-device",
    pending: "gatehouse-pending",
    presession: "gatehouse-presession",
};

/// The cookie names under these settings.
pub fn names(app: &App) -> &'static CookieNames {
    if !app.settings().cookie_secure {
        &PLAIN_NAMES
    } else if app.settings().cookie_domain.is_some() {
        &DOMAIN_NAMES
    } else {
        &HOST_NAMES
    }
}

/// The names of the access and refresh cookies under these settings.
pub fn cookie_names(app: &App) -> (&'static str, &'static str) {
    let n = names(app);
    (n.access, n.refresh)
}
/// How long a browser stays a known device.
const DEVICE_MAX_AGE_DAYS: i64 = 365;

/// The person making this request, known from a valid access token (or a refresh token
/// that was just rotated).
#[derive(Debug, Clone, Serialize)]
pub struct AuthenticatedUser {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub sid: String,
    /// The account must choose a new password before it may use any other page.
    pub must_change_password: bool,
    /// The account must enrol a second factor before it may use any other page.
    pub must_enrol: bool,
    /// The account's groups.
    pub groups: Vec<String>,
}

impl AuthenticatedUser {
    fn from_claims(c: &Claims) -> Option<Self> {
        Some(AuthenticatedUser {
            id: c.account_id()?,
            name: c.name.clone(),
            role: c.role,
            sid: c.sid.clone(),
            must_change_password: c.pwc,
            must_enrol: c.tfa,
            groups: c.groups.clone(),
        })
    }

    fn from_account(app: &App, account: &Account, groups: &[String], sid: &str) -> Self {
        AuthenticatedUser {
            groups: groups.to_vec(),
            id: account.id,
            name: account.username.clone(),
            role: account.role(),
            sid: sid.to_string(),
            must_change_password: account.must_change_password,
            must_enrol: app.must_enrol(account),
        }
    }

    /// What the account must do before any other page (password first).
    pub fn duty(&self) -> Duty {
        Duty::from_flags(self.must_change_password, self.must_enrol)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// This user acting on their own sessions from `client`.
    pub fn owner(&self, client: &ClientInfo) -> crate::sessions::Owner {
        crate::sessions::Owner {
            account_id: self.id,
            name: self.name.clone(),
            sid: self.sid.clone(),
            ip: client.ip.clone(),
        }
    }
}

fn auth_cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .secure(secure)
        .http_only(true)
        .same_site(SameSite::Lax)
        .build()
}

/// An access or refresh cookie: `__Host-` for this host, or `__Secure-` with `Domain=`
/// when `cookie_domain` is set.
fn session_cookie(app: &App, name: &'static str, value: String) -> Cookie<'static> {
    let mut c = auth_cookie(name, value, app.settings().cookie_secure);
    if let Some(domain) = &app.settings().cookie_domain {
        c.set_domain(domain.clone());
    }
    c
}

/// Just the access cookie (forward auth hands one to the proxy).
pub fn access_cookie(app: &App, access: String) -> Cookie<'static> {
    let mut c = session_cookie(app, cookie_names(app).0, access);
    c.set_max_age(time::Duration::seconds(app.settings().access_token_ttl));
    c
}

/// Sets the access cookie (lifetime = token lifetime) and, when given, the refresh cookie
/// (30 days when remembered, else a browser-session cookie).
pub fn set_cookies(
    jar: &CookieJar<'_>,
    app: &App,
    access: String,
    refresh: Option<&IssuedRefresh>,
    now: i64,
) {
    jar.add(access_cookie(app, access));
    if let Some(r) = refresh {
        let mut c = session_cookie(app, cookie_names(app).1, r.token.clone());
        if r.remember {
            c.set_max_age(time::Duration::seconds((r.expires_at - now).max(0)));
        }
        jar.add(c);
    }
}

/// What a signed-in account must do before it may use other pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    None,
    ChangePassword,
    EnrolSecondFactor,
}

impl Duty {
    fn from_flags(must_change_password: bool, must_enrol: bool) -> Duty {
        if must_change_password {
            Duty::ChangePassword
        } else if must_enrol {
            Duty::EnrolSecondFactor
        } else {
            Duty::None
        }
    }

    /// The duty a session's access token carries (the one standing that pages, forward
    /// auth and APIs all read).
    pub fn of(claims: &Claims) -> Duty {
        Duty::from_flags(claims.pwc, claims.tfa)
    }

    /// The page that does it.
    pub fn page(self) -> &'static str {
        match self {
            Duty::ChangePassword => "/account/password?notice=must_change",
            Duty::EnrolSecondFactor => "/account/2fa?notice=must_enrol",
            Duty::None => "/dashboard",
        }
    }
}

/// The duty that turned this request away (for the 428 catcher).
struct DutyOf(Duty);

/// Why `AuthenticatedUser` answered 428 for this request.
pub fn refused_duty(req: &Request<'_>) -> Duty {
    req.local_cache(|| DutyOf(Duty::None)).0
}

/// Sets the pending cookie of a sign-in awaiting its second factor (five minutes).
pub fn set_pending_cookie(jar: &CookieJar<'_>, app: &App, token: String) {
    let mut c = auth_cookie(names(app).pending, token, app.settings().cookie_secure);
    c.set_max_age(time::Duration::seconds(
        crate::sessions::pending::PENDING_TTL,
    ));
    jar.add(c);
}

pub fn clear_pending_cookie(jar: &CookieJar<'_>, app: &App) {
    let mut c = auth_cookie(
        names(app).pending,
        String::new(),
        app.settings().cookie_secure,
    );
    c.set_max_age(time::Duration::ZERO);
    c.set_expires(time::OffsetDateTime::UNIX_EPOCH);
    jar.add(c);
}

/// Marks this browser as a known device of the account it just signed in to.
pub fn set_device_cookie(jar: &CookieJar<'_>, app: &App, token: String) {
    let mut c = auth_cookie(names(app).device, token, app.settings().cookie_secure);
    c.set_max_age(time::Duration::days(DEVICE_MAX_AGE_DAYS));
    jar.add(c);
}

/// The browser's device cookie, if any.
pub fn device_cookie(req: &Request<'_>, app: &App) -> Option<String> {
    req.cookies()
        .get(names(app).device)
        .map(|c| c.value().to_string())
}

/// The browser's pending cookie (a sign-in awaiting its second step), if any.
pub fn pending_cookie(jar: &CookieJar<'_>, app: &App) -> Option<String> {
    jar.get(names(app).pending).map(|c| c.value().to_string())
}

/// Tells the browser to drop both cookies (with the attributes they were set with, or
/// the browser would ignore the removal).
pub fn clear_cookies(jar: &CookieJar<'_>, app: &App) {
    let (access, refresh) = cookie_names(app);
    for name in [access, refresh] {
        let mut c = session_cookie(app, name, String::new());
        c.set_max_age(time::Duration::ZERO);
        c.set_expires(time::OffsetDateTime::UNIX_EPOCH);
        jar.add(c);
    }
}

/// Whether the request carries either session cookie.
pub fn has_session_cookie(req: &Request<'_>, app: &App) -> bool {
    let (access, refresh) = cookie_names(app);
    req.cookies().get(access).is_some() || req.cookies().get(refresh).is_some()
}

fn app_of<'r>(req: &'r Request<'_>) -> Result<&'r App> {
    req.rocket()
        .state::<App>()
        .ok_or_else(|| Error::Internal(crate::error::Error::Internal("app state missing".into())))
}

/// Works out who is asking: access token first, refresh token second. Cookies that fail
/// are cleared. Database trouble during rotation is an error (503), not "signed out".
async fn resolve(req: &Request<'_>) -> Result<Option<AuthenticatedUser>> {
    let app = app_of(req)?;
    let jar = req.cookies();
    let (access_name, refresh_name) = cookie_names(app);
    let now = app.now();
    if let Some(cookie) = jar.get(access_name) {
        let user = app
            .verify_access(cookie.value())
            .and_then(|c| AuthenticatedUser::from_claims(&c));
        if user.is_some() {
            return Ok(user);
        }
    }
    let refresh = match jar.get(refresh_name) {
        Some(c) if crate::sessions::store::is_refresh_token(c.value()) => c.value().to_string(),
        Some(_) => {
            clear_cookies(jar, app);
            return Ok(None);
        }
        None => {
            if jar.get(access_name).is_some() {
                clear_cookies(jar, app);
            }
            return Ok(None);
        }
    };
    let client = ClientInfo::of(req, app.settings());
    let device = device_cookie(req, app);
    let fingerprint = store::client_fingerprint(
        crate::app::device_nonce(device.as_deref()),
        &client.ip,
        &client.user_agent,
    );
    let rotation = app.rotate(refresh, client.ip, fingerprint).await?;
    match rotation {
        Rotation::Rotated {
            account,
            session,
            refresh,
            groups,
        } => {
            let access = app.access_token(&account, &groups, &session.id, now)?;
            set_cookies(jar, app, access, refresh.as_ref(), now);
            Ok(Some(AuthenticatedUser::from_account(
                app,
                &account,
                &groups,
                &session.id,
            )))
        }
        Rotation::Reused { .. } | Rotation::Invalid => {
            clear_cookies(jar, app);
            Ok(None)
        }
    }
}

/// The outcome of `resolve`, cached so that one request rotates at most once however
/// many guards ask.
struct Resolved(std::result::Result<Option<AuthenticatedUser>, Status>);

async fn resolved<'r>(req: &'r Request<'_>) -> &'r Resolved {
    req.local_cache_async(async {
        Resolved(resolve(req).await.map_err(|e| {
            log::error!("resolving the session: {e}");
            e.status()
        }))
    })
    .await
}

/// Any signed-in session, even one that must change its password first (the
/// password page and sign-out use it).
pub struct AnySession(pub AuthenticatedUser);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AnySession {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match &resolved(req).await.0 {
            Ok(Some(user)) => Outcome::Success(AnySession(user.clone())),
            Ok(None) => Outcome::Error((Status::Unauthorized, ())),
            Err(status) => Outcome::Error((*status, ())),
        }
    }
}

/// A signed-in user free to use the site. An account that must first change its password
/// or enrol a second factor is answered 428, which the catcher turns into a redirect to
/// that page.
#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthenticatedUser {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match req.guard::<AnySession>().await {
            Outcome::Success(AnySession(user)) if user.duty() != Duty::None => {
                req.local_cache(|| DutyOf(user.duty()));
                Outcome::Error((Status::PreconditionRequired, ()))
            }
            Outcome::Success(AnySession(user)) => Outcome::Success(user),
            Outcome::Error(e) => Outcome::Error(e),
            Outcome::Forward(f) => Outcome::Forward(f),
        }
    }
}

/// An administrator; anyone else signed in gets 403. Decided from the token (whose
/// role the in-memory view keeps current), so it fails closed.
pub struct AdminUser(pub AuthenticatedUser);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminUser {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match req.guard::<AuthenticatedUser>().await {
            Outcome::Success(user) if user.is_admin() => Outcome::Success(AdminUser(user)),
            Outcome::Success(_) => Outcome::Error((Status::Forbidden, ())),
            Outcome::Error(e) => Outcome::Error(e),
            Outcome::Forward(f) => Outcome::Forward(f),
        }
    }
}
