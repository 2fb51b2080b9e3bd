//! Security headers on every response.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Request, Response};

pub struct SecurityHeaders;

const CSP: &str =
    "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
                   form-action 'self'; script-src 'none'; style-src 'self'; img-src 'self'";

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "Security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        res.set_header(Header::new("Content-Security-Policy", CSP));
        res.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        res.set_header(Header::new("Referrer-Policy", "same-origin"));
        res.set_header(Header::new("X-Frame-Options", "DENY"));
        res.set_header(Header::new("Cross-Origin-Opener-Policy", "same-origin"));
        let hsts = req
            .rocket()
            .state::<crate::app::App>()
            .is_none_or(|app| app.settings.cookie_secure);
        if hsts {
            res.set_header(Header::new(
                "Strict-Transport-Security",
                "max-age=63072000; includeSubDomains",
            ));
        }
        // Pages may show who is signed in; only static assets and the public keys may
        // be cached.
        let path = req.uri().path();
        if path == "/.well-known/jwks.json" {
            res.set_header(Header::new("Cache-Control", "public, max-age=300"));
        } else if !path.starts_with("/static/") {
            res.set_header(Header::new("Cache-Control", "no-store"));
        }
        res.remove_header("Server");
    }
}
