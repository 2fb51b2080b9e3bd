//! Signing in: the throttles, one bcrypt verify off the async workers (for unknown names
//! too), then either a counted failure or a new session.

use super::App;
use crate::effect::{Effect, SignInOutcome};
use crate::error::Result;
use crate::sessions::store::IssuedRefresh;
use crate::sessions::{self, FailedSignIn};

/// What the sign-in form sent, and from where.
pub struct SignInAttempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub remember: bool,
    pub ip: &'a str,
    pub user_agent: &'a str,
}

pub struct SignedIn {
    pub access: String,
    pub refresh: IssuedRefresh,
    pub now: i64,
}

pub enum SignIn {
    Success(SignedIn),
    /// Every failure looks the same to the caller.
    Failed,
    /// Too many failures for this username or this address: wait so many seconds.
    Throttled(i64),
}

impl App {
    /// Checks a password and starts a session.
    pub async fn sign_in(&self, attempt: &SignInAttempt<'_>) -> Result<SignIn> {
        let throttled = |wait| {
            self.apply(Effect::sign_in(SignInOutcome::Throttled));
            Ok(SignIn::Throttled(wait))
        };
        if let Some(wait) = self.addresses.wait(attempt.ip) {
            return throttled(wait);
        }
        let (name, limits, started) = (
            attempt.username.to_string(),
            self.settings.throttle,
            self.now(),
        );
        let (account, wait) = self
            .db
            .run(move |c| sessions::before_sign_in(c, &name, &limits, started))
            .await?;
        if let Some(wait) = wait {
            return throttled(wait);
        }
        let hash = account.as_ref().map(|a| a.password_hash.clone());
        let password_ok = self
            .hasher
            .verify(attempt.password.to_string(), hash)
            .await?;
        let now = self.now();
        let account = match account {
            Some(a) if password_ok && !a.disabled => a,
            other => {
                let reason = match &other {
                    None => "unknown username",
                    Some(a) if a.disabled => "account disabled",
                    Some(_) => "wrong password",
                };
                self.addresses.record_failure(attempt.ip);
                let (name, ip) = (attempt.username.to_string(), attempt.ip.to_string());
                self.change(move |c| {
                    let failed = FailedSignIn {
                        name: &name,
                        account: other.as_ref(),
                        reason,
                        ip: &ip,
                    };
                    sessions::record_failed_sign_in(c, &failed, &limits, now)
                })
                .await?;
                return Ok(SignIn::Failed);
            }
        };
        let (remember, user_agent, ip) = (
            attempt.remember,
            attempt.user_agent.to_string(),
            attempt.ip.to_string(),
        );
        let signed_in = account.clone();
        let (session, refresh) = self
            .change(move |c| sessions::start(c, &signed_in, remember, &user_agent, &ip, now))
            .await?;
        let access = self.access_token(&account, &session.id, now)?;
        Ok(SignIn::Success(SignedIn {
            access,
            refresh,
            now,
        }))
    }
}
