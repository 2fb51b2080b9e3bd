//! Operational counters in Prometheus' text format (served by `web::metrics`).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::error::{Error, Result};

type Labels = Vec<(&'static str, &'static str)>;

pub struct Metrics {
    registry: Registry,
    sign_ins: Family<Labels, Counter>,
    pub lockouts: Counter,
    pub rotations: Counter,
    pub reuse_detections: Counter,
    pub revocations: Counter,
    pub latency: Histogram,
    /// The outbox: sent, given up, waiting.
    pub mail: crate::mail::sender::MailCounters,
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
        let mail = crate::mail::sender::MailCounters::default();
        registry.register(
            "mail_sent",
            "Mails delivered to the SMTP server",
            mail.sent.clone(),
        );
        registry.register(
            "mail_failed",
            "Mails given up after repeated failures",
            mail.failed.clone(),
        );
        registry.register(
            "mail_waiting",
            "Mails in the outbox waiting to be sent",
            mail.waiting.clone(),
        );
        registry.register(
            "mail_sender_passes",
            "Passes of the mail sender over the outbox (it sleeps until woken or a mail is due)",
            mail.passes.clone(),
        );
        Metrics {
            registry,
            sign_ins,
            lockouts,
            rotations,
            reuse_detections,
            revocations,
            latency,
            mail,
        }
    }
}

impl Metrics {
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
