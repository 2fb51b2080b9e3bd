//! Sessions: starting one after a sign-in, ending it (sign-out, revocation, a password
//! change), its refresh-token family and its access token. Every state change here takes
//! plain values, owns its transaction and audit row, and returns an `Effect`; the request
//! guards and cookies are in `web::session`.

pub mod csrf;
pub mod feed;
pub mod revocations;
pub mod store;
pub mod tokens;

use crate::accounts::{self, throttle, Account};
use crate::audit::{self, Event};
use crate::db::{write_tx, DbConn};
use crate::effect::{Effect, SignInOutcome};
use crate::error::{Error, Result};
use store::{IssuedRefresh, NewSession, Session};

/// The catalogue key of the one answer to every failed sign-in.
pub const SIGN_IN_FAILED: &str = "sign-in-failed";

/// What a sign-in needs to know before the password is checked: the account behind the
/// name (if any) and how long the name must wait (if it must).
pub fn before_sign_in(
    conn: &mut DbConn,
    name: &str,
    limits: &throttle::Limits,
    now: i64,
) -> Result<(Option<Account>, Option<i64>)> {
    // A name with control characters cannot belong to any account; it is still looked
    // up (cleaned) and counted like any other unknown name, so that it costs the same.
    let lookup = crate::text::printable(name, 64);
    let account = if name.chars().any(char::is_control) {
        None
    } else {
        accounts::find_by_username(conn, &lookup)?
    };
    Ok((account, throttle::wait(conn, &lookup, limits, now)?))
}

/// A sign-in that failed, for the throttle and the audit log.
pub struct FailedSignIn<'a> {
    /// The name as typed.
    pub name: &'a str,
    /// The account it named, if any.
    pub account: Option<&'a Account>,
    pub reason: &'a str,
    pub ip: &'a str,
}

/// Counts a failed sign-in against the name and records it (and any lockout it causes).
pub fn record_failed_sign_in(
    conn: &mut DbConn,
    failed: &FailedSignIn<'_>,
    limits: &throttle::Limits,
    now: i64,
) -> Result<Effect> {
    let name = crate::text::printable(failed.name, 64);
    write_tx(conn, |c| {
        let failure = throttle::record_failure(c, &name, limits, now)?;
        let event = |kind, detail: String| {
            let e = Event::new(kind, failed.ip, now)
                .attempted_name(&name)
                .detail(detail);
            match failed.account {
                Some(a) => e.subject(a.id, &a.username),
                None => e,
            }
        };
        audit::record(c, &event("login_failure", failed.reason.to_string()))?;
        let mut effect = Effect::sign_in(SignInOutcome::Failure);
        if let throttle::Failure::LockedFor(wait) = failure {
            audit::record(
                c,
                &event(
                    "lockout",
                    format!("sign-in refused for {wait}s after repeated failures"),
                ),
            )?;
            effect.lockout = true;
        }
        Ok(effect)
    })
}

/// Starts a session for an account whose password was just checked: the session row, its
/// first refresh token, the sign-in time, the end of the name's run of failures, and the
/// audit row, in one transaction.
pub fn start(
    conn: &mut DbConn,
    account: &Account,
    remember: bool,
    user_agent: &str,
    ip: &str,
    now: i64,
) -> Result<((Session, IssuedRefresh), Effect)> {
    write_tx(conn, |c| {
        let new = NewSession {
            account_id: account.id,
            remember,
            user_agent,
            ip,
        };
        let created = store::create(c, &new, now)?;
        accounts::record_login(c, account.id, now)?;
        throttle::record_success(c, &account.username)?;
        audit::record(
            c,
            &Event::new("login_success", ip, now)
                .subject(account.id, &account.username)
                .detail(format!(
                    "session {}{}",
                    created.0.id,
                    if remember { ", remembered" } else { "" }
                )),
        )?;
        Ok((created, Effect::sign_in(SignInOutcome::Success)))
    })
}

/// Who is acting on their own sessions, and from where.
#[derive(Debug, Clone)]
pub struct Owner {
    pub account_id: i64,
    pub name: String,
    /// The session the request came in.
    pub sid: String,
    pub ip: String,
}

fn own_event<'a>(kind: &'a str, owner: &'a Owner, now: i64) -> Event<'a> {
    Event::new(kind, &owner.ip, now)
        .actor(owner.account_id)
        .subject(owner.account_id, &owner.name)
}

/// Sign-out: ends the session the request came in.
pub fn sign_out(conn: &mut DbConn, owner: &Owner, now: i64) -> Result<Effect> {
    write_tx(conn, |c| {
        store::end(c, &owner.sid, "logout", now)?;
        audit::record(
            c,
            &own_event("logout", owner, now).detail(format!("session {}", owner.sid)),
        )?;
        Ok(Effect::ended(vec![owner.sid.clone()]))
    })
}

/// Ends one live session of the owner's own (`Error::NotFound` for any other).
pub fn revoke_own(conn: &mut DbConn, owner: &Owner, sid: &str, now: i64) -> Result<Effect> {
    write_tx(conn, |c| match store::find(c, sid)? {
        Some(s) if s.account_id == owner.account_id && s.ended_at.is_none() => {
            store::end(c, sid, "revoked_by_user", now)?;
            audit::record(
                c,
                &own_event("session_revoked", owner, now).detail(format!("session {sid}")),
            )?;
            Ok(Effect::ended(vec![sid.to_string()]))
        }
        _ => Err(Error::NotFound),
    })
}

/// Ends every other live session of the owner's.
pub fn revoke_others(conn: &mut DbConn, owner: &Owner, now: i64) -> Result<Effect> {
    write_tx(conn, |c| {
        let ended = store::end_all_for_account(
            c,
            owner.account_id,
            Some(&owner.sid),
            "revoked_by_user",
            now,
        )?;
        audit::record(
            c,
            &own_event("sessions_revoked", owner, now)
                .detail(format!("{} other sessions ended", ended.len())),
        )?;
        Ok(Effect::ended(ended))
    })
}

/// Sets the owner's new password (already checked and hashed) and ends every other
/// session; returns the account as it is now.
pub fn change_password(
    conn: &mut DbConn,
    owner: &Owner,
    hash: &str,
    now: i64,
) -> Result<(Account, Effect)> {
    write_tx(conn, |c| {
        accounts::set_password(c, owner.account_id, hash)?;
        let ended = store::end_all_for_account(
            c,
            owner.account_id,
            Some(&owner.sid),
            "password_changed",
            now,
        )?;
        let account = accounts::find(c, owner.account_id)?.ok_or(Error::NotFound)?;
        audit::record(
            c,
            &own_event("password_changed", owner, now)
                .detail(format!("{} other sessions ended", ended.len())),
        )?;
        Ok((account, Effect::ended(ended)))
    })
}
