//! Security headers on every response.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Request, Response};

/// Adds the headers; the policy is worked out once from the settings.
#[derive(Default)]
pub struct SecurityHeaders {
    csp: std::sync::OnceLock<String>,
}

/// The Content-Security-Policy. Scripts: this site's own files only (`/static/passkeys.js`;
/// nothing inline). Forms post to this site only; with `cookie_domain`, the
/// sign-in form may also end on an app of that domain (its `rd`), and browsers check
/// `form-action` on the redirect too.
fn content_security_policy(app: Option<&crate::app::App>) -> String {
    let mut form_action = String::from("'self'");
    if let Some(app) = app {
        if let Some(domain) = &app.settings().cookie_domain {
            let scheme = if app.settings().cookie_secure {
                "https"
            } else {
                "http"
            };
            form_action.push_str(&format!(" {scheme}://{domain}:* {scheme}://*.{domain}:*"));
        }
    }
    format!(
        "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
         form-action {form_action}; script-src 'self'; style-src 'self'; img-src 'self'"
    )
}

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "Security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let path = req.uri().path();
        // Answers to reverse proxies (forward auth) are not pages: they only must never be
        // cached. Anything else is a page or an asset.
        if path == "/auth/forward" || path == "/auth/nginx" {
            res.set_header(Header::new("Cache-Control", "no-store"));
            res.remove_header("Server");
            return;
        }
        let csp = self
            .csp
            .get_or_init(|| content_security_policy(req.rocket().state::<crate::app::App>()));
        // While an authorization is in progress, pages whose form answer may redirect to
        // the client allow its redirect origin as a form action (browsers check the 303
        // too); the `form_post` page also runs its `/static/` script.
        let extra_action = res
            .headers()
            .get_one(crate::web::oidc::FORM_ACTION_HEADER)
            .map(str::to_string)
            .or_else(|| {
                let app = req.rocket().state::<crate::app::App>()?;
                crate::web::oidc::pending_return(req, app).map(|(_, origin)| origin)
            })
            .filter(|o| {
                !o.is_empty()
                    && o.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ":/.-[]".contains(c))
            });
        let script = res
            .headers()
            .get_one(crate::web::oidc::SCRIPT_HEADER)
            .is_some();
        res.remove_header(crate::web::oidc::FORM_ACTION_HEADER);
        res.remove_header(crate::web::oidc::SCRIPT_HEADER);
        let mut csp = csp.clone();
        if let Some(origin) = extra_action {
            csp = csp.replacen(
                "form-action 'self'",
                &format!("form-action 'self' {origin}"),
                1,
            );
        }
        if script {
            csp = csp.replacen("script-src 'none'", "script-src 'self'", 1);
        }
        res.set_header(Header::new("Content-Security-Policy", csp));
        res.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        res.set_header(Header::new("Referrer-Policy", "same-origin"));
        res.set_header(Header::new("X-Frame-Options", "DENY"));
        res.set_header(Header::new("Cross-Origin-Opener-Policy", "same-origin"));
        let hsts = req
            .rocket()
            .state::<crate::app::App>()
            .is_none_or(|app| app.settings().cookie_secure);
        if hsts {
            res.set_header(Header::new(
                "Strict-Transport-Security",
                "max-age=63072000; includeSubDomains",
            ));
        }
        // Pages may show who is signed in; only static assets and the public keys may
        // be cached.
        if path == "/.well-known/jwks.json" || path == "/.well-known/openid-configuration" {
            res.set_header(Header::new("Cache-Control", "public, max-age=300"));
        } else if !path.starts_with("/static/") {
            res.set_header(Header::new("Cache-Control", "no-store"));
        }
        res.remove_header("Server");
    }
}

/// Where a request that cannot be answered as sent is routed (see `AmbiguousRequests`).
pub const REFUSED_PATH: &str = "/__gatehouse/refused";

/// Refuses requests whose routing headers are ambiguous (two `Host` headers: a proxy and
/// Gatehouse could each read another one) before any route sees them: they are routed to
/// `REFUSED_PATH`, which answers 400 and changes nothing.
pub struct AmbiguousRequests;

#[rocket::async_trait]
impl Fairing for AmbiguousRequests {
    fn info(&self) -> Info {
        Info {
            name: "Ambiguous requests",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut rocket::Data<'_>) {
        if req.headers().get("Host").nth(1).is_some() {
            if let Ok(to) = rocket::http::uri::Origin::parse(REFUSED_PATH) {
                req.set_method(rocket::http::Method::Get);
                req.set_uri(to);
            }
        }
    }
}

#[get("/__gatehouse/refused")]
pub fn refused() -> rocket::http::Status {
    rocket::http::Status::BadRequest
}
