//! Delivers the outbox: each instance claims due rows (a lease: `FOR UPDATE SKIP LOCKED`
//! on PostgreSQL, an immediate transaction on SQLite), sends them through SMTP, and marks
//! them sent, or retries with growing waits and gives up after a while. A crash between
//! commit and send loses nothing: the lease runs out and the row is sent then.

use std::sync::Arc;

use diesel::prelude::*;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

use crate::db::schema::outbox;
use crate::db::{write_tx, Db, DbConn};
use crate::error::{Error, Result};

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtp://`: plain first, then STARTTLS, which is required.
    StartTls,
    /// `smtps://`: TLS from the start.
    Implicit,
    /// `smtp://…?tls=none`: no TLS at all (a local relay).
    None,
}

/// `smtp_url` read: where and how to send.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub user: Option<String>,
    pub password: Option<String>,
    /// A CA to trust for the server's certificate (self-hosted mail), in PEM.
    pub ca_pem: Option<String>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SmtpSettings {{ host: {:?}, port: {}, tls: {:?}, user: {:?}, password: {} }}",
            self.host,
            self.port,
            self.tls,
            self.user,
            if self.password.is_some() {
                "<set>"
            } else {
                "<none>"
            }
        )
    }
}

impl SmtpSettings {
    /// Reads `smtp://[user:pass@]host[:port][?tls=none]` or `smtps://…`. Errors name the
    /// setting and never repeat the password.
    pub fn parse(raw: &str) -> std::result::Result<SmtpSettings, String> {
        let bad = |why: &str| {
            format!("setting `smtp_url`: {why} (like smtp://user:password@smtp.example.com:587)")
        };
        let url = url::Url::parse(raw.trim()).map_err(|_| bad("not a URL"))?;
        let (tls, default_port) = match url.scheme() {
            "smtp" => match url
                .query_pairs()
                .find(|(k, _)| k == "tls")
                .map(|(_, v)| v.into_owned())
            {
                None => (SmtpTls::StartTls, 587),
                Some(v) if v == "none" => (SmtpTls::None, 25),
                Some(v) if v == "starttls" => (SmtpTls::StartTls, 587),
                Some(_) => return Err(bad("`tls` may only be \"none\" or \"starttls\"")),
            },
            "smtps" => (SmtpTls::Implicit, 465),
            _ => return Err(bad("the scheme must be smtp or smtps")),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?;
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| bad("the user or password is not valid UTF-8"))
        };
        let user = (!url.username().is_empty())
            .then(|| decode(url.username()))
            .transpose()?;
        let password = url.password().map(decode).transpose()?;
        Ok(SmtpSettings {
            host: host.to_string(),
            port: url.port().unwrap_or(default_port),
            tls,
            user,
            password,
            ca_pem: None,
        })
    }
}

/// Sends mail through one SMTP server.
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
    domain: String,
    public_url: String,
}

impl Mailer {
    pub fn new(
        smtp: &SmtpSettings,
        from: &str,
        public_url: &str,
    ) -> std::result::Result<Mailer, String> {
        let from: Mailbox = from.parse().map_err(|e| {
            format!(
                "setting `mail_from` is not an address like \"Gatehouse <auth@example.com>\": {e}"
            )
        })?;
        let tls_params = || {
            let mut b = TlsParameters::builder(smtp.host.clone());
            if let Some(pem) = &smtp.ca_pem {
                let ca = Certificate::from_pem(pem.as_bytes())
                    .map_err(|e| format!("setting `smtp_ca_file`: not a PEM certificate: {e}"))?;
                b = b.add_root_certificate(ca);
            }
            b.build()
                .map_err(|e| format!("setting `smtp_url`: TLS: {e}"))
        };
        let mut builder = SmtpTransport::builder_dangerous(&smtp.host).port(smtp.port);
        builder = match smtp.tls {
            SmtpTls::StartTls => builder.tls(Tls::Required(tls_params()?)),
            SmtpTls::Implicit => builder.tls(Tls::Wrapper(tls_params()?)),
            SmtpTls::None => builder.tls(Tls::None),
        };
        if let (Some(user), Some(password)) = (&smtp.user, &smtp.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let domain = from.email.domain().to_string();
        Ok(Mailer {
            transport: builder
                .timeout(Some(std::time::Duration::from_secs(15)))
                .build(),
            from,
            domain,
            public_url: public_url.to_string(),
        })
    }

    /// Sends one outbox row (blocking).
    fn send(&self, row: &OutboxRow) -> std::result::Result<(), String> {
        let data: serde_json::Value = serde_json::from_str(&row.data).unwrap_or_default();
        let r = super::render::render(&row.kind, &row.lang, &data, &self.public_url);
        let to: Mailbox = row
            .to_address
            .parse()
            .map_err(|e| format!("not an address: {e}"))?;
        let id = crate::random::token::<12>().map_err(|e| e.to_string())?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(r.subject)
            .date_now()
            .message_id(Some(format!("<gh-outbox-{}-{id}@{}>", row.id, self.domain)))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(r.text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(r.html),
                    ),
            )
            .map_err(|e| e.to_string())?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub to_address: String,
    pub lang: String,
    pub data: String,
    pub attempts: i32,
}

/// How long a claim lasts: another instance sends the row after that.
pub const LEASE: i64 = 120;
/// Attempts before a mail is given up: with `backoff`, about a day.
pub const MAX_ATTEMPTS: i32 = 30;

/// The wait before attempt `n + 1`: 30 s, doubling, at most an hour.
pub fn backoff(attempts: i32) -> i64 {
    (30_i64 << attempts.clamp(0, 10)).min(3_600)
}

/// Claims up to `n` due rows for this instance.
pub fn claim(conn: &mut DbConn, n: i64, now: i64) -> Result<Vec<OutboxRow>> {
    write_tx(conn, |c| {
        // Written twice: `as_select` settles on one backend per query.
        macro_rules! due {
            () => {
                outbox::table
                    .filter(outbox::sent_at.is_null())
                    .filter(outbox::failed_at.is_null())
                    .filter(outbox::next_attempt_at.le(now))
                    .filter(
                        outbox::claimed_until
                            .is_null()
                            .or(outbox::claimed_until.lt(now)),
                    )
                    .order(outbox::id.asc())
                    .limit(n)
                    .select(OutboxRow::as_select())
            };
        }
        let rows: Vec<OutboxRow> = match c {
            DbConn::Pg(pg) => due!().for_update().skip_locked().load(pg)?,
            DbConn::Sqlite(sq) => due!().load(sq)?,
        };
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        if !ids.is_empty() {
            diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
                .set(outbox::claimed_until.eq(now + LEASE))
                .execute(c)?;
        }
        Ok(rows)
    })
}

/// Records how sending went; returns whether the mail was given up.
pub fn finish(
    conn: &mut DbConn,
    row: &OutboxRow,
    outcome: &std::result::Result<(), String>,
    now: i64,
) -> Result<bool> {
    let target = outbox::table.find(row.id);
    match outcome {
        // Sent: the links it carried are not kept.
        Ok(()) => {
            diesel::update(target)
                .set((
                    outbox::sent_at.eq(now),
                    outbox::claimed_until.eq(None::<i64>),
                    outbox::data.eq("{}"),
                    outbox::attempts.eq(row.attempts + 1),
                ))
                .execute(conn)?;
            Ok(false)
        }
        Err(e) if row.attempts + 1 >= MAX_ATTEMPTS => {
            diesel::update(target)
                .set((
                    outbox::failed_at.eq(now),
                    outbox::claimed_until.eq(None::<i64>),
                    outbox::data.eq("{}"),
                    outbox::attempts.eq(row.attempts + 1),
                    outbox::last_error.eq(crate::text::printable(e, 500)),
                ))
                .execute(conn)?;
            Ok(true)
        }
        Err(e) => {
            diesel::update(target)
                .set((
                    outbox::next_attempt_at.eq(now + backoff(row.attempts)),
                    outbox::claimed_until.eq(None::<i64>),
                    outbox::attempts.eq(row.attempts + 1),
                    outbox::last_error.eq(crate::text::printable(e, 500)),
                ))
                .execute(conn)?;
            Ok(false)
        }
    }
}

/// The outbox counters of `/metrics`.
#[derive(Clone, Default)]
pub struct MailCounters {
    pub sent: Counter,
    pub failed: Counter,
    pub waiting: Gauge,
    /// Passes of the sender over the outbox (each a read; a write only when a row is due).
    pub passes: Counter,
}

/// The longest the sender sleeps with nothing due: a mail queued by another instance
/// (which wakes its own sender) is still picked up if that instance stopped first.
pub const IDLE_RECHECK: i64 = 30;

/// How long the sender sleeps: until the next row is due, at most `IDLE_RECHECK`.
pub fn next_wake(now: i64, next_due: Option<i64>) -> std::time::Duration {
    let secs = next_due.map_or(IDLE_RECHECK, |at| (at - now).clamp(0, IDLE_RECHECK));
    std::time::Duration::from_secs(secs.unsigned_abs())
}

/// Posts one back-channel logout row (blocking): signs the logout token and POSTs it.
pub type PostLogout = dyn Fn(&OutboxRow) -> std::result::Result<(), String> + Send + Sync;

/// What the sender delivers with: mail through SMTP (with `smtp_url`), back-channel
/// logout tokens over HTTP (with the OpenID Connect provider).
#[derive(Clone)]
pub struct Delivery {
    pub mailer: Option<Arc<Mailer>>,
    pub backchannel: Option<Arc<PostLogout>>,
}

impl Delivery {
    fn send(&self, row: &OutboxRow) -> std::result::Result<(), String> {
        if row.kind == crate::outbox::BACKCHANNEL_LOGOUT {
            return match &self.backchannel {
                Some(post) => post(row),
                None => Err("the OpenID Connect provider is off (no `public_url`)".into()),
            };
        }
        match &self.mailer {
            Some(m) => m.send(row),
            None => Err("mail is off (no `smtp_url`)".into()),
        }
    }
}

/// Sends due mail for the life of the server: at once when woken (a change queued mail,
/// or the clock was moved), else when the next row is due. Idle, it reads the outbox
/// once every `IDLE_RECHECK` seconds and writes nothing.
pub async fn run(
    db: Arc<Db>,
    mailer: Delivery,
    clock: Arc<crate::clock::Clock>,
    counters: MailCounters,
    wake: Arc<tokio::sync::Notify>,
) {
    loop {
        let next_due = match deliver_due(&db, &mailer, &clock, &counters).await {
            Ok(next) => next,
            Err(e) => {
                log::warn!("mail: {e}");
                None
            }
        };
        counters.passes.inc();
        let wait = next_wake(clock.now(), next_due);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wake.notified() => {}
            _ = clock.moved() => {}
        }
    }
}

/// The outbox as the sender sees it after a pass: rows waiting, and when the next one is
/// due (its next attempt, or the end of another instance's claim on it).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub count: i64,
    pub next_due: Option<i64>,
}

pub fn waiting(conn: &mut DbConn, now: i64) -> Result<Waiting> {
    use diesel::dsl::{count_star, min};
    let free: (i64, Option<i64>) = outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::failed_at.is_null())
        .filter(
            outbox::claimed_until
                .is_null()
                .or(outbox::claimed_until.lt(now)),
        )
        .select((count_star(), min(outbox::next_attempt_at)))
        .first(conn)?;
    let claimed: (i64, Option<i64>) = outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::failed_at.is_null())
        .filter(outbox::claimed_until.ge(now))
        .select((count_star(), min(outbox::claimed_until)))
        .first(conn)?;
    let next_due = match (free.1, claimed.1) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(Waiting {
        count: free.0 + claimed.0,
        next_due,
    })
}

/// Sends what is due; returns when the next row is due.
async fn deliver_due(
    db: &Arc<Db>,
    mailer: &Delivery,
    clock: &crate::clock::Clock,
    counters: &MailCounters,
) -> Result<Option<i64>> {
    loop {
        let now = clock.now();
        let state = db.run_background(move |c| waiting(c, now)).await?;
        counters.waiting.set(state.count);
        if state.next_due.is_none_or(|at| at > now) {
            return Ok(state.next_due);
        }
        let rows = db.run_background(move |c| claim(c, 10, now)).await?;
        if rows.is_empty() {
            // Due, but claimed by another instance meanwhile: look again.
            return Ok(Some(now + 1));
        }
        for row in rows {
            let m = mailer.clone();
            let (r, outcome) = tokio::task::spawn_blocking(move || {
                let outcome = m.send(&row);
                (row, outcome)
            })
            .await
            .map_err(|e| Error::Internal(format!("mail task: {e}")))?;
            if let Err(e) = &outcome {
                log::warn!("mail {} to {}: {e}", r.id, r.to_address);
            }
            let now = clock.now();
            let sent = outcome.is_ok();
            let gave_up = db
                .run_background(move |c| {
                    write_tx(c, |c| {
                        if let (Err(e), true) =
                            (&outcome, r.kind == crate::outbox::BACKCHANNEL_LOGOUT)
                        {
                            crate::audit::record(
                                c,
                                &crate::audit::Event::new(
                                    crate::audit::Kind::OidcBackchannelFailed,
                                    "",
                                    now,
                                )
                                .detail(format!(
                                    "logout token to {} (attempt {}): {}",
                                    crate::text::printable(&r.to_address, 200),
                                    r.attempts + 1,
                                    crate::text::printable(e, 200)
                                )),
                            )?;
                        }
                        finish(c, &r, &outcome, now)
                    })
                })
                .await?;
            if sent {
                counters.sent.inc();
            }
            if gave_up {
                counters.failed.inc();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_sleeps_until_the_next_row_is_due_and_never_long_idle() {
        assert_eq!(next_wake(100, Some(100)), std::time::Duration::ZERO);
        assert_eq!(next_wake(100, Some(90)), std::time::Duration::ZERO);
        assert_eq!(next_wake(100, Some(107)), std::time::Duration::from_secs(7));
        assert_eq!(
            next_wake(100, Some(100 + 3_600)),
            std::time::Duration::from_secs(IDLE_RECHECK as u64)
        );
        assert_eq!(
            next_wake(100, None),
            std::time::Duration::from_secs(IDLE_RECHECK as u64)
        );
    }

    #[test]
    fn smtp_urls_are_read_and_errors_never_show_the_password() {
        let s = SmtpSettings::parse("smtp://me%40example.com:s3cr%3At@smtp.example.com")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (s.host.as_str(), s.port, s.tls),
            ("smtp.example.com", 587, SmtpTls::StartTls)
        );
        assert_eq!(s.user.as_deref(), Some("me@example.com"));
        assert_eq!(s.password.as_deref(), Some("s3cr:t"));
        assert!(!format!("{s:?}").contains("s3cr"));
        let s = SmtpSettings::parse("smtps://mail.example.com").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.port, s.tls), (465, SmtpTls::Implicit));
        let s =
            SmtpSettings::parse("smtp://127.0.0.1:2525?tls=none").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.port, s.tls), (2525, SmtpTls::None));
        for bad in [
            "http://x",
            "smtp://:pw@/",
            "smtp://u:hunter2@host?tls=maybe",
            "nonsense",
        ] {
            let err = SmtpSettings::parse(bad).err().unwrap_or_default();
            assert!(
                err.contains("smtp_url") && !err.contains("hunter2"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn waits_grow_to_an_hour() {
        assert_eq!(backoff(0), 30);
        assert_eq!(backoff(1), 60);
        assert_eq!(backoff(20), 3_600);
    }
}
