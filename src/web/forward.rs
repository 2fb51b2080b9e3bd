//! Forward auth: a reverse proxy asks before each request to another app whether to let
//! it through. `/auth/forward` (Traefik `forwardAuth`, Caddy `forward_auth`, HAProxy)
//! reads the target from `X-Forwarded-*`; `/auth/nginx` (nginx `auth_request`) from
//! `X-Original-URL`. Only configured proxies may ask. Decided from the access cookie with
//! no database query; with only a refresh cookie, the session is checked (not rotated)
//! and one fresh access cookie is handed back.

use rocket::http::{Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};

use crate::app::{App, Asker};
use crate::forward::{BadTarget, Decision, Identity, Target};
use crate::web::session::{self, cookie_names, Duty};

/// The asking proxy's target, from its headers, canonical: only from `trusted_proxies`
/// (anyone else could claim any target), and only when it parses (else 400).
struct ProxiedTarget {
    method: String,
    target: Target,
}

/// A header the proxy sends once; sent twice it is ambiguous, and refused.
fn header<'a>(req: &'a Request<'_>, name: &str) -> Result<Option<&'a str>, BadTarget> {
    let mut values = req.headers().get(name);
    let first = values.next();
    if values.next().is_some() {
        return Err(BadTarget::Duplicate);
    }
    Ok(first.map(str::trim).filter(|v| !v.is_empty()))
}

fn from_proxy(req: &Request<'_>, app: &App) -> bool {
    req.remote()
        .map(|r| r.ip())
        .is_some_and(|ip| app.settings().trusted_proxies.contains(&ip))
}

fn proxied_target(req: &Request<'_>) -> Result<ProxiedTarget, BadTarget> {
    let nginx = req.uri().path() == "/auth/nginx";
    let (target, method) = if nginx {
        let url = header(req, "X-Original-URL")?.ok_or(BadTarget::Missing)?;
        (Target::from_url(url)?, header(req, "X-Original-Method")?)
    } else {
        let target = Target::from_parts(
            header(req, "X-Forwarded-Proto")?,
            header(req, "X-Forwarded-Host")?,
            header(req, "X-Forwarded-Uri")?,
        )?;
        (target, header(req, "X-Forwarded-Method")?)
    };
    let method = method.unwrap_or("GET");
    if method.len() > 32 || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(BadTarget::Method);
    }
    Ok(ProxiedTarget {
        method: method.to_ascii_uppercase(),
        target,
    })
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
        match proxied_target(req) {
            Ok(t) => Outcome::Success(t),
            Err(why) => {
                log::info!("forward auth: target refused: {why}");
                Outcome::Error((Status::BadRequest, ()))
            }
        }
    }
}

/// Who is asking, for a proxy: the access cookie (no query), else the refresh cookie
/// checked in the database without rotating it, with a fresh access cookie to hand back.
async fn asker(req: &Request<'_>, app: &App) -> crate::web::error::Result<Option<Asker>> {
    let (access_name, refresh_name) = cookie_names(app);
    let cookies = req.cookies();
    Ok(app
        .forward_asker(
            cookies.get(access_name).map(|c| c.value()),
            cookies.get(refresh_name).map(|c| c.value()),
        )
        .await?)
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
                // Always present, empty for nobody: a proxy that copies them (Caddy's
                // `copy_headers`) would otherwise hand the app its own placeholder text.
                let (user, groups, role, email) = match &asker {
                    Some(c) => (
                        c.name.clone(),
                        c.groups.join(","),
                        c.role.as_str(),
                        c.email.clone().unwrap_or_default(),
                    ),
                    None => Default::default(),
                };
                r.header(Header::new("Remote-User", user));
                r.header(Header::new("Remote-Groups", groups));
                r.header(Header::new("Remote-Role", role));
                r.header(Header::new("Remote-Email", email));
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

fn sign_in_url(app: &App, target: &Target) -> Option<String> {
    let base = app.settings().public_url.as_ref()?;
    Some(format!(
        "{base}/login?rd={}",
        crate::text::query_value(&target.url())
    ))
}

async fn decide(req: &Request<'_>, app: &App, proxied: &ProxiedTarget, nginx: bool) -> Answer {
    let target = &proxied.target;
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
    // A session with a duty is not signed in as far as the apps are concerned: it is sent
    // to the duty page instead of the sign-in page.
    let (who, duty) = match who {
        Some(a) if a.claims.has_duty() => (None, Some(Duty::of(&a.claims))),
        who => (who, None),
    };
    let identity = who.as_ref().map(|a| Identity {
        groups: &a.claims.groups,
    });
    match app.settings().rules.decide(target, identity) {
        Decision::Allow => Answer::Allowed {
            cookie: who
                .as_ref()
                .and_then(|a| a.fresh_access.clone())
                .map(|t| session::access_cookie(app, t).to_string()),
            asker: who.map(|a| a.claims),
        },
        Decision::Deny => Answer::Forbidden,
        Decision::SignIn => {
            let to = match duty {
                Some(duty) => app
                    .settings()
                    .public_url
                    .as_ref()
                    .map(|base| format!("{base}{}", duty.page())),
                None => sign_in_url(app, target),
            };
            let wants_page = req
                .headers()
                .get_one("Accept")
                .is_some_and(|a| a.contains("text/html"));
            let status = if nginx || !wants_page || to.is_none() {
                Status::Unauthorized
            } else if matches!(proxied.method.as_str(), "GET" | "HEAD") {
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
            Outcome::Success(t) => t,
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
