//! Signing in, through the attempt pipeline (`attempt`): every throttle is taken before
//! the password is checked (so parallel guesses are all counted), one bcrypt verify off
//! the async workers (for unknown names too), then either a recorded failure or a new
//! session (or a pending second step), unless the account changed while the password was
//! being checked.

use super::attempt::{Admitted, Attempted, Gate, Verdict};
use super::App;
use crate::accounts::username_key;
use crate::audit::Kind;
use crate::effect::{Effect, SignInOutcome};
use crate::error::Result;
use crate::sessions::device::DeviceKey;
use crate::sessions::store::IssuedRefresh;
use crate::sessions::{self, FailedSignIn, NewSignIn, Started};

/// What the sign-in form sent, and from where.
pub struct SignInAttempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub remember: bool,
    pub ip: &'a str,
    pub user_agent: &'a str,
    /// The browser's device cookie, if it has one.
    pub device: Option<&'a str>,
}

pub struct SignedIn {
    pub access: String,
    pub refresh: IssuedRefresh,
    /// A device cookie for this account, when the browser has none valid for it.
    pub device: Option<String>,
    pub now: i64,
}

pub enum SignIn {
    Success(SignedIn),
    /// The password was right; the second factor is awaited (the pending token).
    SecondFactor(String),
    /// Every failure looks the same to the caller.
    Failed,
    /// Too many failures for this username or this address: wait so many seconds.
    Throttled(i64),
}

impl App {
    /// The throttle key of an attempt at `name`: the name itself, or, from a browser that
    /// signed in to that account before, the name and that device, so that failures from
    /// elsewhere cannot lock the owner out.
    pub fn throttle_key(&self, name: &str, device: Option<&str>) -> (String, bool) {
        match device.and_then(|d| self.device.verify(d, name)) {
            Some(nonce) => (format!("{}#device:{nonce}", username_key(name)), true),
            None => (name.to_string(), false),
        }
    }

    /// Checks a password and starts a session (through the attempt pipeline).
    pub async fn sign_in(&self, attempt: &SignInAttempt<'_>) -> Result<SignIn> {
        let (key, known_device) = self.throttle_key(attempt.username, attempt.device);
        let gate = Gate {
            name: attempt.username,
            key,
            address: Some(attempt.ip),
            owner: known_device,
        };
        match self
            .attempt(gate, |admitted| {
                self.check_sign_in(attempt, known_device, admitted)
            })
            .await?
        {
            Attempted::Done(result) => Ok(result),
            Attempted::Throttled(wait) => {
                self.apply(Effect::sign_in(SignInOutcome::Throttled));
                Ok(SignIn::Throttled(wait))
            }
        }
    }

    /// The sign-in's check: one bcrypt verify off the async workers (for unknown names
    /// too), then a recorded failure, a pending second step, or a new session, unless the
    /// account changed while the password was being checked.
    async fn check_sign_in(
        &self,
        attempt: &SignInAttempt<'_>,
        known_device: bool,
        admitted: Admitted,
    ) -> Result<Verdict<SignIn>> {
        let Admitted {
            account,
            key,
            locked_for,
            in_flight,
            priority,
            ..
        } = admitted;
        let hash = account.as_ref().map(|a| a.password_hash.clone());
        let password_ok = self
            .hasher
            .verify(priority, attempt.password.to_string(), hash)
            .await?;
        let account = match account {
            Some(a) if password_ok && !a.disabled => a,
            other => {
                let reason = match &other {
                    None => "unknown username",
                    Some(a) if a.disabled => "account disabled",
                    Some(_) => "wrong password",
                };
                let (name, ip, now) = (
                    attempt.username.to_string(),
                    attempt.ip.to_string(),
                    self.now(),
                );
                self.change(move |c| {
                    let failed = FailedSignIn {
                        kind: crate::audit::Kind::LoginFailure,
                        name: &name,
                        account: other.as_ref(),
                        reason,
                        ip: &ip,
                        locked_for,
                    };
                    let mut effect = sessions::record_failed_sign_in(c, &failed, now)?;
                    effect.sign_in = Some(SignInOutcome::Failure);
                    Ok(effect)
                })
                .await?;
                return Ok(Verdict::Wrong(SignIn::Failed));
            }
        };
        // A hash made at another cost is made again now, while the password is at hand.
        let rehash = if self.hasher.needs_rehash(&account.password_hash) {
            Some(
                self.hasher
                    .hash_with(priority, attempt.password.to_string())
                    .await?,
            )
        } else {
            None
        };
        if account.has_second_factor() {
            let (remember, ip, now) = (attempt.remember, attempt.ip.to_string(), self.now());
            let pending = self
                .change(move |c| {
                    let new = NewSignIn {
                        checked: &account,
                        rehash: rehash.as_deref(),
                        remember,
                        user_agent: "",
                        ip: &ip,
                        throttle_key: &key,
                        others_in_flight: true,
                        max_sessions: 0,
                        new_device: false,
                        event: Kind::LoginSuccess,
                        amr: "pwd",
                    };
                    sessions::await_second_factor(c, &new, now)
                })
                .await?;
            return Ok(match pending {
                Some(token) => Verdict::Right(SignIn::SecondFactor(token)),
                None => Verdict::Wrong(SignIn::Failed),
            });
        }
        let others_in_flight = in_flight.others();
        let (remember, user_agent, ip, max_sessions, now) = (
            attempt.remember,
            attempt.user_agent.to_string(),
            attempt.ip.to_string(),
            self.settings.max_sessions,
            self.now(),
        );
        let started = self
            .change(move |c| {
                let new = NewSignIn {
                    checked: &account,
                    rehash: rehash.as_deref(),
                    remember,
                    user_agent: &user_agent,
                    ip: &ip,
                    throttle_key: &key,
                    others_in_flight,
                    max_sessions,
                    new_device: !known_device,
                    event: Kind::LoginSuccess,
                    amr: "pwd",
                };
                sessions::start(c, &new, now)
            })
            .await?;
        drop(in_flight);
        self.signed_in(started, known_device, now)
    }

    /// What a started sign-in hands the browser: an access token, the refresh token, and
    /// a device token for a browser not known yet. The one ending of every sign-in that
    /// starts a session (a password, a second step, a passkey).
    pub(super) fn signed_in(
        &self,
        started: Started,
        known_device: bool,
        now: i64,
    ) -> Result<Verdict<SignIn>> {
        let Started::Session {
            session,
            refresh,
            account,
            groups,
        } = started
        else {
            return Ok(Verdict::Wrong(SignIn::Failed));
        };
        let access = self.access_token(&account, &groups, &session.id, now)?;
        let device = if known_device {
            None
        } else {
            Some(self.device.issue(&account.username)?)
        };
        Ok(Verdict::Right(SignIn::Success(SignedIn {
            access,
            refresh,
            device,
            now,
        })))
    }
}

/// The nonce of a device cookie, whichever account it names (to tell clients apart).
pub fn device_nonce(cookie: Option<&str>) -> Option<&str> {
    cookie.and_then(DeviceKey::nonce)
}
