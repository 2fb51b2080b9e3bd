//! Everything a request may need, built once at ignition and kept in the server's state;
//! and the one place where what a committed change means is carried out (`AfterCommit`).
//!
//! The fields are private to this crate: routes call the use-case methods (`service`,
//! `sign_in`, `second_factor`, `accounts`), which run the domain functions through
//! `App::change` (the database on the blocking pool, then the effect applied).

mod accounts;
mod attempt;
mod oidc;
mod passkeys;
mod second_factor;
mod service;
mod sign_in;

use std::sync::Arc;

use figment::Figment;

use crate::accounts::password::PasswordHasher;
use crate::accounts::policy::PasswordPolicy;
use crate::accounts::setup::SetupToken;
use crate::accounts::throttle::{InFlight, WindowLimiter};
use crate::accounts::Account;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::{Db, DbConn};
use crate::effect::{Changed, Effect};
use crate::error::Result;
use crate::metrics::Metrics;
use crate::sessions::csrf::CsrfKey;
use crate::sessions::device::DeviceKey;
use crate::sessions::feed;
use crate::sessions::revocations::Revocations;
use crate::sessions::tokens::{Claims, JwtKeys};

pub use self::accounts::{AccountRequest, NewAccount, PasswordChange};
pub use oidc::{ClientAuth, ClientCredentials, CodeRedemption, CodeRequest};
pub use passkeys::{PasskeyAdded, PasskeySignInAttempt};
pub use second_factor::{Offer, Reauth, SecondStepResult};
pub use service::{AccountOverview, AccountPage, AdminAction, Asker};
pub use sign_in::{device_nonce, SignIn, SignInAttempt, SignedIn};

pub struct App {
    pub(crate) settings: Settings,
    pub(crate) db: Arc<Db>,
    pub(crate) keys: JwtKeys,
    pub(crate) csrf: CsrfKey,
    pub(crate) hasher: PasswordHasher,
    pub(crate) policy: PasswordPolicy,
    pub(crate) revocations: Arc<Revocations>,
    pub(crate) setup: SetupToken,
    /// Failed sign-ins per client address (a slot is taken before the password is checked).
    pub(crate) addresses: WindowLimiter,
    /// Sign-ups per client address.
    pub(crate) signups: WindowLimiter,
    /// Failed OpenID Connect client authentications per client address (the same limit
    /// as failed sign-ins, counted apart so that a misconfigured app server does not
    /// block sign-ins from its address).
    pub(crate) client_auth: WindowLimiter,
    /// Forgotten-password requests per client address (ten an hour).
    pub(crate) forgots: WindowLimiter,
    /// Sign-ins and password checks running now, per name.
    pub(crate) in_flight: InFlight,
    /// Sign-in attempts running now, per client address (an IPv6 /64).
    pub(crate) in_flight_addresses: InFlight,
    pub(crate) device: DeviceKey,
    /// Seals second-factor secrets and hashes recovery codes (`encryption_key`).
    pub(crate) vault: Arc<crate::second_factor::vault::Vault>,
    /// Sends the outbox (with `smtp_url`).
    pub(crate) mailer: Option<Arc<crate::mail::sender::Mailer>>,
    /// Wakes the sender when a change queued mail.
    pub(crate) mail_wake: Arc<tokio::sync::Notify>,
    pub(crate) metrics: Arc<Metrics>,
    /// What follows a commit (shared, so that work finished after the answer applies its
    /// effect the same way).
    pub(crate) after_commit: Arc<AfterCommit>,
    pub(crate) clock: Arc<Clock>,
    /// The WebAuthn relying party, when passkeys are on (see `passkeys_off`).
    pub(crate) passkeys: Option<Arc<crate::second_factor::passkeys::RelyingParty>>,
    /// Why passkeys are off, when they are.
    pub(crate) passkeys_off: Option<String>,
    /// Passkey sign-in ceremonies made per client address (each sign-in page shown to a
    /// browser writes one): beyond it the page offers the password only.
    pub(crate) passkey_pages: WindowLimiter,
    /// The OpenID Connect provider (with `public_url`, its issuer).
    pub(crate) oidc: Option<Arc<crate::oidc::tokens::Provider>>,
}

impl App {
    /// Reads settings, opens and migrates the database, loads recent revocations.
    /// Blocking: call from a blocking context.
    pub fn start(figment: &Figment) -> Result<App, String> {
        Self::open(Settings::from_figment(figment)?)
    }

    /// As `start`, with settings already read.
    pub fn open(settings: Settings) -> Result<App, String> {
        crate::sessions::rsa::install();
        let db = Db::open(&settings.database)?;
        let keys =
            JwtKeys::new(&settings.keys, settings.access_token_ttl).map_err(|e| e.to_string())?;
        // Form and device tokens outlive a rotation of the signing keys: their keys come
        // from `encryption_key` (one purpose each), not from the first `jwt_keys` entry.
        let (csrf, device) = (
            CsrfKey::derive(&settings.encryption_key),
            DeviceKey::derive(&settings.encryption_key),
        );
        let clock = Arc::new(Clock::default());
        let hasher = PasswordHasher::new(
            settings.bcrypt_cost,
            crate::accounts::password::Pool {
                workers: settings.hash_workers,
                max_waiting: settings.hash_queue,
                max_wait: std::time::Duration::from_secs(settings.hash_wait),
                clock: clock.clone(),
            },
        )
        .map_err(|e| e.to_string())?;
        let revocations = Revocations::new(settings.access_token_ttl);
        // Everything ended or changed recently enough to matter, from the change feed.
        let since = clock.now() - revocations.window();
        db.run_blocking(|c| feed::catch_up(c, &revocations, since))
            .map_err(|e| e.to_string())?;
        let policy = PasswordPolicy {
            min_length: settings.password_min_length,
        };
        let mailer = match (&settings.smtp, &settings.public_url) {
            (Some(smtp), Some(public_url)) => Some(Arc::new(crate::mail::sender::Mailer::new(
                smtp,
                &settings.mail_from,
                public_url,
            )?)),
            _ => None,
        };
        let oidc = settings.public_url.as_deref().map(|issuer| {
            Arc::new(crate::oidc::tokens::Provider::new(
                issuer,
                &settings.keys,
                settings.access_token_ttl,
            ))
        });
        let (passkeys, passkeys_off) =
            match crate::second_factor::passkeys::RelyingParty::from_settings(
                settings.public_url.as_deref(),
                settings.cookie_domain.as_deref(),
                &settings.encryption_key,
            ) {
                crate::second_factor::passkeys::Setup::On(rp) => {
                    if rp.localhost_only {
                        log::info!("passkeys: for requests to localhost only (no `public_url`)");
                    }
                    (Some(Arc::new(rp)), None)
                }
                crate::second_factor::passkeys::Setup::Off(why) => {
                    log::warn!("passkeys are off: {why}");
                    (None, Some(why))
                }
            };
        let addresses = WindowLimiter::new(settings.address_failures, settings.address_window);
        let signups = WindowLimiter::new(
            settings.signup_address_limit,
            settings.signup_address_window,
        );
        let (metrics, mail_wake, revocations) = (
            Arc::new(Metrics::default()),
            Arc::new(tokio::sync::Notify::new()),
            Arc::new(revocations),
        );
        let after_commit = Arc::new(AfterCommit {
            revocations: revocations.clone(),
            metrics: metrics.clone(),
            mail_wake: mail_wake.clone(),
            clock: clock.clone(),
        });
        Ok(App {
            after_commit,
            client_auth: WindowLimiter::new(settings.address_failures, settings.address_window),
            addresses,
            signups,
            forgots: WindowLimiter::new(10, 3600),
            in_flight: InFlight::per_name(),
            in_flight_addresses: InFlight::per_address(settings.address_in_flight),
            device,
            vault: Arc::new(crate::second_factor::vault::Vault::new(
                &settings.encryption_key,
            )),
            mailer,
            mail_wake,
            metrics,
            settings,
            db: Arc::new(db),
            keys,
            csrf,
            hasher,
            policy,
            revocations,
            setup: SetupToken::default(),
            clock,
            passkeys,
            passkeys_off,
            passkey_pages: WindowLimiter::new(
                crate::second_factor::passkeys::SIGN_IN_PAGES_PER_ADDRESS,
                600,
            ),
            oidc,
        })
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// When no administrator exists yet, makes the one-time setup token.
    pub fn issue_setup_token_if_needed(&self) -> Result<Option<String>, String> {
        let exists = self
            .db
            .run_blocking(crate::accounts::admin_exists)
            .map_err(|e| e.to_string())?;
        if exists {
            return Ok(None);
        }
        self.setup
            .issue(self.now())
            .map(Some)
            .map_err(|e| e.to_string())
    }

    /// Runs a state change (a domain function that owns its transaction) on the
    /// blocking pool, then applies its effect.
    pub(crate) async fn change<C, F>(&self, f: F) -> Result<C::Value>
    where
        F: FnOnce(&mut DbConn) -> Result<C> + Send + 'static,
        C: Changed + Send + 'static,
    {
        let (value, effect) = self.db.run(f).await?.split();
        self.apply(effect);
        Ok(value)
    }

    /// Does what must follow a committed change on this instance (`AfterCommit::apply`).
    pub(crate) fn apply(&self, effect: Effect) {
        self.after_commit.apply(effect);
    }

    /// The settings the server runs with (read-only).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Form tokens (CSRF), bound to a session or a pre-session.
    pub fn csrf(&self) -> &CsrfKey {
        &self.csrf
    }

    /// The password policy (for the pages that state it).
    pub fn policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The server's own clock (tests move it).
    pub fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    /// Starts what runs beside the requests for the life of the server: the change feed
    /// from other instances, the pruning of old rows, and the mail sender. Call once, in
    /// the server's runtime.
    pub fn start_background(&self) {
        tokio::spawn(crate::sessions::feed::follow(
            self.db.clone(),
            self.revocations.clone(),
            self.clock.clone(),
        ));
        tokio::spawn(crate::retention::run(
            self.db.clone(),
            self.clock.clone(),
            self.retention(),
        ));
        if let Some(delivery) = self.delivery() {
            tokio::spawn(crate::mail::sender::run(
                self.db.clone(),
                delivery,
                self.clock.clone(),
                self.metrics.mail.clone(),
                self.mail_wake.clone(),
            ));
        }
    }

    /// Registers an OpenID Connect client from the command line (`gatehouse
    /// create-client`); the error says what to fix.
    pub fn create_client(
        &self,
        spec: &crate::oidc::ClientSpec,
    ) -> Result<(crate::oidc::Client, Option<String>), String> {
        let now = self.now();
        let provider = self.oidc.clone();
        let has_key = move |alg| provider.as_ref().is_some_and(|p| p.has(alg));
        if self.oidc.is_none() {
            return Err("setting `public_url` is needed: it is the OpenID Connect issuer".into());
        }
        let actor = crate::oidc::Actor {
            owner: None,
            ip: "cli",
        };
        type Made = ((crate::oidc::Client, Option<String>), Effect);
        let made: std::result::Result<Made, String> = self
            .db
            .run_blocking(|c| {
                if let Err(e) = spec.check(c, &has_key) {
                    return Ok(Err(e));
                }
                Ok(Ok(crate::oidc::create_client(c, spec, &actor, now)?))
            })
            .map_err(|e| e.to_string())?;
        let (value, effect) = made?;
        self.apply(effect);
        Ok(value)
    }

    /// What the outbox's sender delivers with, if anything: mail, and back-channel
    /// logout tokens.
    pub fn delivery(&self) -> Option<crate::mail::sender::Delivery> {
        let backchannel = self.oidc.clone().map(|p| {
            let clock = self.clock.clone();
            let post: Arc<crate::mail::sender::PostLogout> =
                Arc::new(move |row: &crate::mail::sender::OutboxRow| {
                    post_logout_token(&p, clock.now(), row)
                });
            post
        });
        if self.mailer.is_none() && backchannel.is_none() {
            return None;
        }
        Some(crate::mail::sender::Delivery {
            mailer: self.mailer.clone(),
            backchannel,
        })
    }

    /// Whether mail can be sent (`smtp_url` is set): the pages that need it show only then.
    pub fn mail_on(&self) -> bool {
        self.mailer.is_some()
    }

    /// How long data is kept (settings `retention_days`, `audit_retention_days`).
    pub fn retention(&self) -> crate::retention::Retention {
        crate::retention::Retention {
            data: self.settings.retention_days * 86_400,
            audit: self.settings.audit_retention_days * 86_400,
        }
    }

    /// A fresh access token for a session of `account` (a member of `groups`).
    pub fn access_token(
        &self,
        account: &Account,
        groups: &[String],
        sid: &str,
        now: i64,
    ) -> Result<String> {
        self.keys.sign(&self.claims(account, groups, sid, now)?)
    }

    /// The claims of a fresh access token.
    pub fn claims(
        &self,
        account: &Account,
        groups: &[String],
        sid: &str,
        now: i64,
    ) -> Result<Claims> {
        let mut claims = Claims::new(
            account.id,
            &account.username,
            account.role(),
            sid,
            now,
            self.settings.access_token_ttl,
        )?;
        claims.set_duties(account.must_change_password, self.must_enrol(account));
        claims.groups = groups.to_vec();
        claims.email = account.verified_email().map(str::to_string);
        Ok(claims)
    }
}

/// What must follow a committed change on this instance: refuse the access tokens of ended
/// sessions and of changed roles at once, count it, wake the mail sender. (Other
/// instances learn the same through the change feed, written in the change's own
/// transaction.) The one place where this is done.
pub(crate) struct AfterCommit {
    revocations: Arc<Revocations>,
    metrics: Arc<Metrics>,
    mail_wake: Arc<tokio::sync::Notify>,
    clock: Arc<Clock>,
}

impl AfterCommit {
    pub(crate) fn apply(&self, effect: Effect) {
        let now = self.clock.now();
        let m = &self.metrics;
        if !effect.ended_sessions.is_empty() {
            self.revocations.end_sessions(&effect.ended_sessions, now);
            m.revocations.inc_by(effect.ended_sessions.len() as u64);
        }
        if let Some(sid) = &effect.reused_session {
            self.revocations
                .end_sessions(std::slice::from_ref(sid), now);
            m.reuse_detections.inc();
        }
        if !effect.revoked.is_empty() {
            self.revocations.revoke_all(&effect.revoked, now);
        }
        // An ended session may owe back-channel logout tokens (queued in its transaction).
        if !effect.ended_sessions.is_empty() || effect.reused_session.is_some() {
            self.mail_wake.notify_one();
        }
        for (account, role, groups) in effect.claims {
            self.revocations
                .set_claims(account, role, Some(groups), now);
        }
        if let Some(outcome) = effect.sign_in {
            m.sign_in(outcome.as_str());
        }
        if effect.lockout {
            m.lockouts.inc();
        }
        if effect.rotated {
            m.rotations.inc();
        }
        if effect.mail {
            self.mail_wake.notify_one();
        }
    }
}

/// Reaching inside, for this workspace's own tests and benchmarks only (the feature
/// `test-support`, enabled by the top crate's dev-dependency; never in the server).
#[cfg(feature = "test-support")]
impl App {
    pub fn db(&self) -> &Arc<Db> {
        &self.db
    }

    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    pub fn setup(&self) -> &SetupToken {
        &self.setup
    }

    pub fn revocations(&self) -> &Revocations {
        &self.revocations
    }

    pub fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }

    pub fn vault(&self) -> &crate::second_factor::vault::Vault {
        &self.vault
    }

    pub fn mail_wake(&self) -> &tokio::sync::Notify {
        &self.mail_wake
    }
}
/// Signs a back-channel logout token for an outbox row and POSTs it to the client
/// (blocking). 200 or 204 is delivered; anything else is retried.
fn post_logout_token(
    provider: &crate::oidc::tokens::Provider,
    now: i64,
    row: &crate::mail::sender::OutboxRow,
) -> std::result::Result<(), String> {
    use crate::oidc::tokens::{BACKCHANNEL_EVENT, LOGOUT_TOKEN_TTL};
    let data: serde_json::Value = serde_json::from_str(&row.data).map_err(|e| e.to_string())?;
    let field = |k: &str| data.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    let alg = crate::sessions::keys::Alg::parse(field("alg"))
        .unwrap_or(crate::sessions::keys::Alg::RS256);
    let claims = serde_json::json!({
        "iss": provider.issuer,
        "aud": field("client_id"),
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL,
        "jti": crate::random::token::<16>().map_err(|e| e.to_string())?,
        "sub": field("sub"),
        "sid": field("sid"),
        "events": { BACKCHANNEL_EVENT: {} },
    });
    let token = provider
        .sign(alg, "logout+jwt", &claims)
        .map_err(|e| e.to_string())?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .into();
    let response = agent
        .post(&row.to_address)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(format!("logout_token={}", crate::text::query_value(&token)))
        .map_err(|e| e.to_string())?;
    match response.status().as_u16() {
        200 | 204 => Ok(()),
        s => Err(format!("the client answered {s}")),
    }
}
