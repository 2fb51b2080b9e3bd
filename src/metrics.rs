//! Operational counters in Prometheus' text format, served at `/metrics` to configured
//! addresses (loopback by default) or to holders of `metrics_token`.

use std::net::IpAddr;
use std::time::Instant;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Response, State};

use crate::app::App;
use crate::error::{Error, Result};

type Labels = Vec<(&'static str, &'static str)>;

pub struct Metrics {
    registry: Registry,
    sign_ins: Family<Labels, Counter>,
    pub lockouts: Counter,
    pub rotations: Counter,
    pub reuse_detections: Counter,
    pub revocations: Counter,
    latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("gatehouse");
        let sign_ins = Family::<Labels, Counter>::default();
        let (lockouts, rotations, reuse_detections, revocations) = (
            Counter::default(),
            Counter::default(),
            Counter::default(),
            Counter::default(),
        );
        // 0.25 ms … 4 s
        let latency = Histogram::new(exponential_buckets(0.00025, 2.0, 15));
        registry.register("sign_ins", "Sign-in attempts by outcome", sign_ins.clone());
        registry.register(
            "lockouts",
            "Usernames made to wait after repeated failures",
            lockouts.clone(),
        );
        registry.register(
            "refresh_rotations",
            "Refresh tokens used to renew a session",
            rotations.clone(),
        );
        registry.register(
            "refresh_reuse_detections",
            "Sessions ended because a used refresh token came back",
            reuse_detections.clone(),
        );
        registry.register(
            "session_revocations",
            "Sessions ended by sign-out, revoke, password change or an administrator",
            revocations.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer a request",
            latency.clone(),
        );
        Metrics {
            registry,
            sign_ins,
            lockouts,
            rotations,
            reuse_detections,
            revocations,
            latency,
        }
    }
}

impl Metrics {
    /// `outcome` is one of success, failure, throttled.
    pub fn sign_in(&self, outcome: &'static str) {
        self.sign_ins
            .get_or_create(&vec![("outcome", outcome)])
            .inc();
    }

    pub fn render(&self) -> Result<String> {
        let mut out = String::new();
        encode(&mut out, &self.registry).map_err(|e| Error::Internal(format!("metrics: {e}")))?;
        Ok(out)
    }
}

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
            app.metrics
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
        let s = &app.settings;
        let by_address = req
            .remote()
            .map(|r| r.ip())
            .is_some_and(|ip: IpAddr| s.metrics_allow.contains(&ip));
        let by_token = match (&s.metrics_token, req.headers().get_one("Authorization")) {
            (Some(expected), Some(given)) => given
                .strip_prefix("Bearer ")
                .is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes())),
            _ => false,
        };
        if by_address || by_token {
            Outcome::Success(MetricsReader)
        } else {
            Outcome::Error((Status::Forbidden, ()))
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    // Compare digests so that neither length nor content leaks through timing.
    Sha256::digest(a) == Sha256::digest(b)
}

#[get("/metrics")]
pub fn metrics(_reader: MetricsReader, app: &State<App>) -> Result<(ContentType, String)> {
    let text = app.metrics.render()?;
    Ok((
        ContentType::new("text", "plain").with_params(("version", "0.0.4")),
        text,
    ))
}
