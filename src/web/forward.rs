//! Forward auth: a reverse proxy asks before each request to another app whether to let
//! it through. `/auth/forward` (Traefik `forwardAuth`, Caddy `forward_auth`, HAProxy)
//! reads the target from `X-Forwarded-*`; `/auth/nginx` (nginx `auth_request`) from
//! `X-Original-URL`. Only configured proxies may ask. Decided from the access cookie with
//! no database query; with only a refresh cookie, the session is checked (not rotated)
//! and one fresh access cookie is handed back.

use rocket::http::{Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};

use crate::app::App;
use crate::forward::{Decision, Identity};
use crate::web::session::{self, cookie_names};

/// The request the proxy is asking about.
pub struct Target {
    pub method: String,
    /// `scheme://host[:port]/path?query`
    pub url: String,
    pub host: String,
    pub path: String,
}

/// The asking proxy's target, from its headers: only from `trusted_proxies` (anyone else
/// could claim any target), else 400.
struct ProxiedTarget(Target);

fn header<'a>(req: &'a Request<'_>, name: &str) -> Option<&'a str> {
    req.headers()
        .get_one(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn from_proxy(req: &Request<'_>, app: &App) -> bool {
    req.remote()
        .map(|r| r.ip())
        .is_some_and(|ip| app.settings.trusted_proxies.contains(&ip))
}

/// `scheme://host[:port]/rest` split into (host, path-and-query).
fn split_url(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    (!host.is_empty() && !host.contains('@')).then(|| (host.to_string(), path.to_string()))
}

fn clean(s: &str) -> Option<&str> {
    (s.len() <= 4096 && !s.chars().any(char::is_control)).then_some(s)
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ProxiedTarget {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(app) = req.rocket().state::<App>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        if !from_proxy(req, app) {
            return Outcome::Error((Status::BadRequest, ()));
        }
        let target = if req.uri().path() == "/auth/nginx" {
            header(req, "X-Original-URL")
                .and_then(clean)
                .and_then(|url| {
                    let (host, path) = split_url(url)?;
                    Some(Target {
                        method: header(req, "X-Original-Method")
                            .unwrap_or("GET")
                            .to_string(),
                        url: url.to_string(),
                        host,
                        path,
                    })
                })
        } else {
            let proto = header(req, "X-Forwarded-Proto").unwrap_or("https");
            let host = header(req, "X-Forwarded-Host").and_then(clean);
            let uri = header(req, "X-Forwarded-Uri")
                .and_then(clean)
                .unwrap_or("/");
            host.filter(|_| matches!(proto, "http" | "https") && uri.starts_with('/'))
                .map(|host| Target {
                    method: header(req, "X-Forwarded-Method")
                        .unwrap_or("GET")
                        .to_string(),
                    url: format!("{proto}://{host}{uri}"),
                    host: host.to_string(),
                    path: uri.to_string(),
                })
        };
        match target {
            Some(t) => Outcome::Success(ProxiedTarget(t)),
            None => Outcome::Error((Status::BadRequest, ())),
        }
    }
}

/// Who is asking, for a proxy: the access cookie (no query), else the refresh cookie
/// checked in the database without rotating it, with a fresh access cookie to hand back.
struct Asker {
    claims: std::sync::Arc<crate::sessions::tokens::Claims>,
    fresh_access: Option<String>,
}

async fn asker(req: &Request<'_>, app: &App) -> crate::web::error::Result<Option<Asker>> {
    let (access_name, refresh_name) = cookie_names(app);
    let now = app.now();
    if let Some(claims) = req
        .cookies()
        .get(access_name)
        .and_then(|c| app.keys.verify(c.value(), now))
        .filter(|c| !app.revocations.refuses(c))
    {
        return Ok(Some(Asker {
            claims,
            fresh_access: None,
        }));
    }
    let Some(refresh) = req
        .cookies()
        .get(refresh_name)
        .map(|c| c.value().to_string())
        .filter(|t| crate::random::is_token::<32>(t))
    else {
        return Ok(None);
    };
    let found = app
        .db
        .run(move |c| crate::sessions::store::check_refresh(c, &refresh, now))
        .await?;
    let Some((account, session, groups)) = found else {
        return Ok(None);
    };
    if app.must_enrol(&account) || account.must_change_password {
        // Not done signing in: the person finishes on Gatehouse first.
        return Ok(None);
    }
    let claims = app.claims(&account, &groups, &session.id, now)?;
    let access = app.keys.sign(&claims)?;
    Ok(Some(Asker {
        claims: std::sync::Arc::new(claims),
        fresh_access: Some(access),
    }))
}

/// The answer to a proxy.
pub enum Answer {
    Allowed {
        asker: Option<std::sync::Arc<crate::sessions::tokens::Claims>>,
        cookie: Option<String>,
    },
    Forbidden,
    /// Sign in first: a redirect to `to` (or, for clients that do not want a page, 401).
    SignIn {
        to: Option<String>,
        status: Status,
    },
}

impl<'r> Responder<'r, 'static> for Answer {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut r = Response::build();
        match self {
            Answer::Allowed { asker, cookie } => {
                r.status(Status::Ok);
                if let Some(claims) = asker {
                    r.header(Header::new("Remote-User", claims.name.clone()));
                    r.header(Header::new("Remote-Groups", claims.groups.join(",")));
                    r.header(Header::new("Remote-Role", claims.role.as_str()));
                    if let Some(email) = &claims.email {
                        r.header(Header::new("Remote-Email", email.clone()));
                    }
                }
                if let Some(c) = cookie {
                    r.header(Header::new("Set-Cookie", c));
                }
            }
            Answer::Forbidden => {
                r.status(Status::Forbidden);
            }
            Answer::SignIn { to, status } => {
                r.status(status);
                if let Some(to) = to {
                    r.header(Header::new("Location", to));
                }
            }
        }
        r.ok()
    }
}

fn sign_in_url(app: &App, target: &str) -> Option<String> {
    let base = app.settings.public_url.as_ref()?;
    Some(format!(
        "{base}/login?rd={}",
        crate::text::query_value(target)
    ))
}

async fn decide(req: &Request<'_>, app: &App, target: &Target, nginx: bool) -> Answer {
    let who = match asker(req, app).await {
        Ok(who) => who,
        Err(e) => {
            log::error!("forward auth: {e}");
            return Answer::SignIn {
                to: None,
                status: Status::ServiceUnavailable,
            };
        }
    };
    let identity = who.as_ref().map(|a| Identity {
        groups: &a.claims.groups,
    });
    match app
        .settings
        .rules
        .decide(&target.host, &target.path, identity)
    {
        Decision::Allow => Answer::Allowed {
            cookie: who
                .as_ref()
                .and_then(|a| a.fresh_access.clone())
                .map(|t| session::access_cookie(app, t).to_string()),
            asker: who.map(|a| a.claims),
        },
        Decision::Deny => Answer::Forbidden,
        Decision::SignIn => {
            let to = sign_in_url(app, &target.url);
            let wants_page = req
                .headers()
                .get_one("Accept")
                .is_some_and(|a| a.contains("text/html"));
            let status = if nginx || !wants_page || to.is_none() {
                Status::Unauthorized
            } else if matches!(target.method.as_str(), "GET" | "HEAD") {
                Status::Found
            } else {
                Status::SeeOther
            };
            Answer::SignIn { to, status }
        }
    }
}

/// The answer to the asking proxy, worked out as a request guard (it reads the target,
/// the cookies and the `Accept` header).
pub struct Decided(Answer);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Decided {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(app) = req.rocket().state::<App>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let target = match req.guard::<ProxiedTarget>().await {
            Outcome::Success(t) => t.0,
            Outcome::Error(e) => return Outcome::Error(e),
            Outcome::Forward(f) => return Outcome::Forward(f),
        };
        let nginx = req.uri().path() == "/auth/nginx";
        Outcome::Success(Decided(decide(req, app, &target, nginx).await))
    }
}

#[get("/auth/forward")]
pub fn forward(decided: Decided) -> Answer {
    decided.0
}

#[get("/auth/nginx")]
pub fn nginx(decided: Decided) -> Answer {
    decided.0
}
