//! What a committed change means for the rest of the running system. Every domain
//! function that changes state returns one; `App::apply` is the one place that acts on it
//! (the in-memory revocation view, the metrics), so no caller can forget a part.

use crate::accounts::Role;

/// How a sign-in attempt ended, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOutcome {
    Success,
    Failure,
    Throttled,
}

impl SignInOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInOutcome::Success => "success",
            SignInOutcome::Failure => "failure",
            SignInOutcome::Throttled => "throttled",
        }
    }
}

#[derive(Debug, Default)]
#[must_use = "pass it to App::apply"]
pub struct Effect {
    /// Sessions ended by sign-out, revocation, a password change or an administrator:
    /// their access tokens must be refused from now on.
    pub ended_sessions: Vec<String>,
    /// A session ended because a used refresh token came back.
    pub reused_session: Option<String>,
    /// Accounts whose role or groups changed (the claims from now on): tokens carrying
    /// other ones must be refused.
    pub claims: Vec<(i64, Role, Vec<String>)>,
    pub sign_in: Option<SignInOutcome>,
    /// A failure that started a lockout.
    pub lockout: bool,
    /// A refresh token was used and a new one issued.
    pub rotated: bool,
    /// Mail was queued: the sender may go at once.
    pub mail: bool,
    /// OpenID Connect grants and access tokens revoked (`oidc::grant_key`, `jti_key`):
    /// their access tokens must be refused from now on.
    pub revoked: Vec<String>,
}

impl Effect {
    pub fn none() -> Effect {
        Effect::default()
    }

    pub fn ended(sessions: Vec<String>) -> Effect {
        Effect {
            ended_sessions: sessions,
            ..Effect::default()
        }
    }

    pub fn mail() -> Effect {
        Effect {
            mail: true,
            ..Effect::default()
        }
    }

    pub fn sign_in(outcome: SignInOutcome) -> Effect {
        Effect {
            sign_in: Some(outcome),
            ..Effect::default()
        }
    }
}

/// What a state change returns: an effect alone, or a value with its effect.
pub trait Changed {
    type Value;
    fn split(self) -> (Self::Value, Effect);
}

impl Changed for Effect {
    type Value = ();
    fn split(self) -> ((), Effect) {
        ((), self)
    }
}

impl<T> Changed for (T, Effect) {
    type Value = T;
    fn split(self) -> (T, Effect) {
        self
    }
}
