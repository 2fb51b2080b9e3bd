//! `/metrics` for configured addresses (loopback by default) or holders of
//! `metrics_token`, and the timer that feeds the latency histogram.

use std::net::IpAddr;
use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Response, State};

use crate::app::App;
use crate::web::error::Result;

/// Times every request into the latency histogram.
pub struct RequestTimer;

#[derive(Clone, Copy)]
struct Started(Instant);

#[rocket::async_trait]
impl Fairing for RequestTimer {
    fn info(&self) -> Info {
        Info {
            name: "Request timer",
            kind: Kind::Request | Kind::Response,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut rocket::Data<'_>) {
        req.local_cache(|| Started(Instant::now()));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, _: &mut Response<'r>) {
        if let Some(app) = req.rocket().state::<App>() {
            let started = req.local_cache(|| Started(Instant::now()));
            app.metrics()
                .latency
                .observe(started.0.elapsed().as_secs_f64());
        }
    }
}

/// Who may read the metrics: an allowed peer address, or the configured bearer token.
pub struct MetricsReader;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MetricsReader {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let Some(app) = req.rocket().state::<App>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let s = &app.settings();
        // The client's address, not the peer's: behind a trusted proxy every request
        // would otherwise come from an allowed loopback address.
        let by_address = crate::web::client::client_ip(req, &s.trusted_proxies)
            .is_some_and(|ip: IpAddr| s.metrics_allow.contains(&ip));
        let by_token = match (&s.metrics_token, req.headers().get_one("Authorization")) {
            (Some(expected), Some(given)) => given
                .strip_prefix("Bearer ")
                .is_some_and(|t| token_matches(t, expected)),
            _ => false,
        };
        if by_address || by_token {
            Outcome::Success(MetricsReader)
        } else {
            Outcome::Error((Status::Forbidden, ()))
        }
    }
}

/// Whether the token given is the one expected, in constant time (`subtle`); digests
/// are compared, so that not even the length of the expected token leaks through timing.
fn token_matches(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    Sha256::digest(given.as_bytes())
        .as_slice()
        .ct_eq(Sha256::digest(expected.as_bytes()).as_slice())
        .into()
}

#[get("/metrics")]
pub fn metrics(_reader: MetricsReader, app: &State<App>) -> Result<(ContentType, String)> {
    let text = app
        .metrics()
        .render()
        .map_err(crate::web::error::Error::from)?;
    Ok((
        ContentType::new("text", "plain").with_params(("version", "0.0.4")),
        text,
    ))
}
