//! Sessions: access tokens, refresh rotation, the request guard and the cookies.

pub mod feed;
pub mod revocations;
pub mod store;
pub mod tokens;

use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use serde::Serialize;

use crate::accounts::{self, throttle, Role};
use crate::app::App;
use crate::audit::{self, Event};
use crate::error::{Error, Result};
use crate::web::client::ClientInfo;
use store::{IssuedRefresh, NewSession, Rotation};
use tokens::Claims;

pub const ACCESS_COOKIE: &str = "__Host-access";
pub const REFRESH_COOKIE: &str = "__Host-refresh";

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

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
}

impl AuthenticatedUser {
    fn from_claims(c: &Claims) -> Option<Self> {
        Some(AuthenticatedUser {
            id: c.account_id()?,
            name: c.name.clone(),
            role: c.role,
            sid: c.sid.clone(),
            must_change_password: c.pwc,
        })
    }

    fn from_account(account: &accounts::Account, sid: &str) -> Self {
        AuthenticatedUser {
            id: account.id,
            name: account.username.clone(),
            role: account.role(),
            sid: sid.to_string(),
            must_change_password: account.must_change_password,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
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

/// Sets the access cookie (lifetime = token lifetime) and, when given, the refresh cookie
/// (30 days when remembered, else a browser-session cookie).
pub fn set_cookies(
    jar: &CookieJar<'_>,
    app: &App,
    access: String,
    refresh: Option<&IssuedRefresh>,
    now: i64,
) {
    let secure = app.settings.cookie_secure;
    let mut c = auth_cookie(ACCESS_COOKIE, access, secure);
    c.set_max_age(time::Duration::seconds(app.settings.access_token_ttl));
    jar.add(c);
    if let Some(r) = refresh {
        let mut c = auth_cookie(REFRESH_COOKIE, r.token.clone(), secure);
        if r.remember {
            c.set_max_age(time::Duration::seconds((r.expires_at - now).max(0)));
        }
        jar.add(c);
    }
}

/// Tells the browser to drop both cookies (with the attributes a `__Host-` cookie needs,
/// or the browser would ignore the removal).
pub fn clear_cookies(jar: &CookieJar<'_>, secure: bool) {
    for name in [ACCESS_COOKIE, REFRESH_COOKIE] {
        let mut c = auth_cookie(name, String::new(), secure);
        c.set_max_age(time::Duration::ZERO);
        c.set_expires(time::OffsetDateTime::UNIX_EPOCH);
        jar.add(c);
    }
}

/// Issues a fresh access token for a session.
pub fn access_token(app: &App, account: &accounts::Account, sid: &str, now: i64) -> Result<String> {
    let claims = Claims::new(
        account.id,
        &account.username,
        account.role(),
        sid,
        now,
        app.settings.access_token_ttl,
        account.must_change_password,
    );
    app.keys.sign(&claims)
}

/// Works out who is asking: access token first, refresh token second. Cookies that fail
/// are cleared. Database trouble during rotation is an error (503), not "signed out".
async fn resolve(req: &Request<'_>) -> Result<Option<AuthenticatedUser>> {
    let app = req
        .rocket()
        .state::<App>()
        .ok_or_else(|| Error::Internal("app state missing".into()))?;
    let jar = req.cookies();
    let secure = app.settings.cookie_secure;
    if let Some(cookie) = jar.get(ACCESS_COOKIE) {
        let user = app
            .keys
            .verify(cookie.value())
            .filter(|c| !app.revocations.refuses(c))
            .and_then(|c| AuthenticatedUser::from_claims(&c));
        if user.is_some() {
            return Ok(user);
        }
    }
    let refresh = match jar.get(REFRESH_COOKIE) {
        Some(c) if crate::random::is_token::<32>(c.value()) => c.value().to_string(),
        Some(_) => {
            clear_cookies(jar, secure);
            return Ok(None);
        }
        None => {
            if jar.get(ACCESS_COOKIE).is_some() {
                clear_cookies(jar, secure);
            }
            return Ok(None);
        }
    };
    let ip = ClientInfo::of(req, &app.settings).ip;
    let grace = app.settings.refresh_grace;
    let now = now();
    let rotation = app
        .db
        .run(move |c| store::rotate(c, &refresh, grace, &ip, now))
        .await?;
    match rotation {
        Rotation::Rotated {
            account,
            session,
            refresh,
        } => {
            if refresh.is_some() {
                app.metrics.rotations.inc();
            }
            let access = access_token(app, &account, &session.id, now)?;
            set_cookies(jar, app, access, refresh.as_ref(), now);
            Ok(Some(AuthenticatedUser::from_account(&account, &session.id)))
        }
        Rotation::Reused { session_id, .. } => {
            app.metrics.reuse_detections.inc();
            app.revocations.end_session(&session_id, now);
            clear_cookies(jar, secure);
            Ok(None)
        }
        Rotation::Invalid => {
            clear_cookies(jar, secure);
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

/// A signed-in user free to use the site. An account that must change its password is
/// answered 428, which the catcher turns into a redirect to the password page.
#[rocket::async_trait]
impl<'r> FromRequest<'r> for AuthenticatedUser {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match req.guard::<AnySession>().await {
            Outcome::Success(AnySession(user)) if user.must_change_password => {
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

/// The generic answer to every failed sign-in.
/// (The catalogue key of the message.)
pub const SIGN_IN_FAILED: &str = "sign-in-failed";

pub struct SignedIn {
    pub access: String,
    pub refresh: IssuedRefresh,
    pub now: i64,
}

pub enum SignIn {
    Success(SignedIn),
    Failed,
    /// Too many failures for this username or this address: wait so many seconds.
    Throttled(i64),
}

/// Checks a password and starts a session. Every failure looks the same to the caller.
pub async fn sign_in(
    app: &App,
    username: &str,
    password: &str,
    remember: bool,
    client: &ClientInfo,
) -> Result<SignIn> {
    if let Some(wait) = app.addresses.wait(&client.ip) {
        app.metrics.sign_in("throttled");
        return Ok(SignIn::Throttled(wait));
    }
    // Names that cannot exist are looked up anyway (cheaply) so that they cost the same.
    let name = crate::text::printable(username, 64);
    let possible = !username.chars().any(char::is_control);
    let (lookup, limits, ip) = (name.clone(), app.settings.throttle, client.ip.clone());
    let started = now();
    let (account, wait) = app
        .db
        .run(move |c| {
            // A name with control characters cannot belong to any account; it is
            // counted (cleaned) like any other unknown name.
            let account = if possible {
                accounts::find_by_username(c, &lookup)?
            } else {
                None
            };
            Ok((account, throttle::wait(c, &lookup, &limits, started)?))
        })
        .await?;
    if let Some(wait) = wait {
        app.metrics.sign_in("throttled");
        return Ok(SignIn::Throttled(wait));
    }
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    let password_ok = app.hasher.verify(password.to_string(), hash).await?;
    let now = now();
    let account = match account {
        Some(a) if password_ok && !a.disabled => a,
        other => {
            let reason = match &other {
                None => "unknown username",
                Some(a) if a.disabled => "account disabled",
                Some(_) => "wrong password",
            };
            let subject = other.map(|a| (a.id, a.username));
            app.addresses.record_failure(&ip);
            let locked = app
                .db
                .run(move |c| {
                    crate::db::write_tx(c, |c| {
                        record_failure(c, &name, subject, reason, &limits, &ip, now)
                    })
                })
                .await?;
            app.metrics.sign_in("failure");
            if locked {
                app.metrics.lockouts.inc();
            }
            return Ok(SignIn::Failed);
        }
    };
    let user_agent = client.user_agent.clone();
    let account_id = account.id;
    let username = account.username.clone();
    let (session, refresh) = app
        .db
        .run(move |c| {
            crate::db::write_tx(c, |c| {
                let new = NewSession {
                    account_id,
                    remember,
                    user_agent: &user_agent,
                    ip: &ip,
                };
                let created = store::create(c, &new, now)?;
                accounts::record_login(c, account_id, now)?;
                throttle::record_success(c, &username)?;
                audit::record(
                    c,
                    &Event::new("login_success", &ip, now)
                        .subject(account_id, &username)
                        .detail(format!(
                            "session {}{}",
                            created.0.id,
                            if remember { ", remembered" } else { "" }
                        )),
                )?;
                Ok(created)
            })
        })
        .await?;
    let access = access_token(app, &account, &session.id, now)?;
    app.metrics.sign_in("success");
    Ok(SignIn::Success(SignedIn {
        access,
        refresh,
        now,
    }))
}

/// Counts a failed sign-in against the username and writes it (and any lockout it
/// causes) to the audit log.
fn record_failure(
    c: &mut crate::db::DbConn,
    name: &str,
    subject: Option<(i64, String)>,
    reason: &str,
    limits: &throttle::Limits,
    ip: &str,
    now: i64,
) -> Result<bool> {
    let failure = throttle::record_failure(c, name, limits, now)?;
    let event = |kind, detail: String| {
        let e = Event::new(kind, ip, now)
            .attempted_name(name)
            .detail(detail);
        match &subject {
            Some((id, n)) => e.subject(*id, n),
            None => e,
        }
    };
    audit::record(c, &event("login_failure", reason.to_string()))?;
    if let throttle::Failure::LockedFor(wait) = failure {
        audit::record(
            c,
            &event(
                "lockout",
                format!("sign-in refused for {wait}s after repeated failures"),
            ),
        )?;
        return Ok(true);
    }
    Ok(false)
}

/// Ends the session behind `user` (sign-out): in the database, in memory, in the audit log.
pub async fn sign_out(app: &App, user: &AuthenticatedUser, client: &ClientInfo) -> Result<()> {
    let now = now();
    let (sid, ip, id, name) = (
        user.sid.clone(),
        client.ip.clone(),
        user.id,
        user.name.clone(),
    );
    app.db
        .run(move |c| {
            crate::db::write_tx(c, |c| {
                store::end(c, &sid, "logout", now)?;
                audit::record(
                    c,
                    &Event::new("logout", &ip, now)
                        .actor(id)
                        .subject(id, &name)
                        .detail(format!("session {sid}")),
                )
            })
        })
        .await?;
    app.revocations.end_session(&user.sid, now);
    app.metrics.revocations.inc();
    Ok(())
}
