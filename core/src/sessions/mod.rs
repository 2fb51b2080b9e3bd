//! Sessions: starting one after a sign-in, ending it (sign-out, revocation, a password
//! change), its refresh-token family and its access token. Every state change here takes
//! plain values, owns its transaction and audit row, and returns an `Effect`; the request
//! guards and cookies are in `web::session`.

pub mod csrf;
pub mod device;
pub mod feed;
pub mod keys;
pub mod pending;
pub mod revocations;
pub mod rsa;
pub mod store;
pub mod tokens;

use crate::accounts::throttle::{self, Admission};
use crate::accounts::{self, Account};
use crate::audit::Kind;
use crate::audit::{self, Event};
use crate::db::{write_tx, DbConn};
use crate::effect::{Effect, SignInOutcome};
use crate::error::{Error, Result};
use crate::second_factor::passkeys::{self, Assertion, RelyingParty};
use store::{IssuedRefresh, NewSession, Session};
use webauthn_rs::prelude::PublicKeyCredential;

/// The catalogue key of the one answer to every failed sign-in.
pub const SIGN_IN_FAILED: &str = "sign-in-failed";

/// Admits a sign-in attempt before its password is checked: the account behind the name
/// (if any) and whether the throttle key (the name, or the name and a known device) may
/// try now; an admitted attempt is already counted as a failure (see `throttle::admit`).
pub fn admit_sign_in(
    conn: &mut DbConn,
    name: &str,
    throttle_key: &str,
    limits: &throttle::Limits,
    now: i64,
) -> Result<(Option<Account>, Admission)> {
    // A name with control or format characters cannot belong to any account; it is
    // still looked up (cleaned) and counted like any other unknown name, so that it
    // costs the same.
    let lookup = crate::text::printable(name, 64);
    let key = crate::text::printable(throttle_key, 160);
    write_tx(conn, |c| {
        let account = if !name.chars().all(crate::text::is_printable) {
            None
        } else {
            accounts::find_by_username(c, &lookup)?
        };
        Ok((account, throttle::admit(c, &key, limits, now)?))
    })
}

/// An admitted attempt that was never checked (no hashing worker took it in time, so it
/// was answered "busy"): its count is taken back, and the wait its own admission started,
/// if it did, with it. Load is not a failure of the person trying.
pub fn refund_unchecked(
    conn: &mut DbConn,
    throttle_key: &str,
    started_wait: bool,
    now: i64,
) -> Result<()> {
    let key = crate::text::printable(throttle_key, 160);
    write_tx(conn, |c| throttle::refund(c, &key, started_wait, now))
}

/// A sign-in (or a password check) that failed, for the audit log.
pub struct FailedSignIn<'a> {
    /// The audit kind: `login_failure`, `password_change_failure`, …
    pub kind: Kind,
    /// The name as typed.
    pub name: &'a str,
    /// The account it named, if any.
    pub account: Option<&'a Account>,
    pub reason: &'a str,
    pub ip: &'a str,
    /// The wait this attempt started when it was admitted, if it did.
    pub locked_for: Option<i64>,
}

/// Records a failed attempt (counted already when it was admitted) and the lockout it
/// started, if any.
pub fn record_failed_sign_in(
    conn: &mut DbConn,
    failed: &FailedSignIn<'_>,
    now: i64,
) -> Result<Effect> {
    write_tx(conn, |c| record_failed_in(c, failed, now))
}

/// As `record_failed_sign_in`, inside the caller's transaction.
fn record_failed_in(c: &mut DbConn, failed: &FailedSignIn<'_>, now: i64) -> Result<Effect> {
    let name = crate::text::printable(failed.name, 64);
    {
        let event = |kind, detail: String| {
            let e = Event::new(kind, failed.ip, now)
                .attempted_name(&name)
                .detail(detail);
            match failed.account {
                Some(a) => e.subject(a.id, &a.username),
                None => e,
            }
        };
        audit::record(c, &event(failed.kind, failed.reason.to_string()))?;
        let mut effect = Effect::none();
        if let Some(wait) = failed.locked_for {
            audit::record(
                c,
                &event(
                    Kind::Lockout,
                    format!("sign-in refused for {wait}s after repeated failures"),
                ),
            )?;
            effect.lockout = true;
        }
        Ok(effect)
    }
}

/// How a session is to be started after a correct password.
pub struct NewSignIn<'a> {
    /// The account as it was when its password was checked.
    pub checked: &'a Account,
    /// A new hash of the same password, when the stored one was made at another cost.
    pub rehash: Option<&'a str>,
    pub remember: bool,
    pub user_agent: &'a str,
    pub ip: &'a str,
    /// The throttle key the attempt was admitted under, and whether other attempts at
    /// the same name were in flight.
    pub throttle_key: &'a str,
    pub others_in_flight: bool,
    /// Live sessions an account may have; the oldest end beyond it.
    pub max_sessions: usize,
    /// The browser has not signed in to this account before (no device cookie): the
    /// account is told.
    pub new_device: bool,
    /// The audit kind of the sign-in: `login_success`, or `passkey_sign_in`.
    pub event: Kind,
    /// How it was signed in (`amr` values, space-separated: "pwd", "pwd otp",
    /// "pwd hwk", "hwk user").
    pub amr: &'a str,
}

pub enum Started {
    Session {
        session: Box<Session>,
        refresh: IssuedRefresh,
        account: Box<Account>,
        /// The account's groups, for its access token.
        groups: Vec<String>,
    },
    /// The account changed while its password was being checked (new password, disabled,
    /// sessions ended): no session.
    AccountChanged,
}

/// Starts a session for an account whose password was just checked, unless the account
/// changed meanwhile: the session row, its first refresh token, the sign-in time, the
/// throttle refund and the audit row, in one transaction; and ends the oldest sessions
/// beyond the limit.
pub fn start(conn: &mut DbConn, new: &NewSignIn<'_>, now: i64) -> Result<(Started, Effect)> {
    write_tx(conn, |c| start_in(c, new, now))
}

/// As `start`, inside the caller's transaction.
fn start_in(c: &mut DbConn, new: &NewSignIn<'_>, now: i64) -> Result<(Started, Effect)> {
    let checked = new.checked;
    let account = match accounts::find_for_update(c, checked.id)? {
        Some(a) if unchanged(&a, checked) => a,
        _ => {
            audit::record(
                c,
                &Event::new(Kind::LoginFailure, new.ip, now)
                    .subject(checked.id, &checked.username)
                    .detail("the account changed while signing in"),
            )?;
            return Ok((
                Started::AccountChanged,
                Effect::sign_in(SignInOutcome::Failure),
            ));
        }
    };
    if let Some(hash) = new.rehash {
        accounts::set_password_hash(c, account.id, hash)?;
    }
    let session = NewSession {
        account_id: account.id,
        account_version: account.version,
        remember: new.remember,
        user_agent: new.user_agent,
        ip: new.ip,
        amr: new.amr,
    };
    let (session, refresh) = store::create(c, &session, now)?;
    accounts::record_login(c, account.id, now)?;
    throttle::succeeded(c, new.throttle_key, new.others_in_flight, now)?;
    let over = store::end_beyond(c, account.id, new.max_sessions, "session_limit", now)?;
    let mut detail = format!(
        "session {}{}; amr {}",
        session.id,
        if new.remember { ", remembered" } else { "" },
        new.amr
    );
    if !over.is_empty() {
        detail.push_str(&format!(
            "; {} oldest sessions ended (limit {})",
            over.len(),
            new.max_sessions
        ));
    }
    if new.rehash.is_some() {
        detail.push_str("; password hash renewed at the configured cost");
    }
    audit::record(
        c,
        &Event::new(new.event, new.ip, now)
            .subject(account.id, &account.username)
            .detail(detail),
    )?;
    let mut effect = Effect::ended(over);
    effect.sign_in = Some(SignInOutcome::Success);
    if new.new_device {
        effect.mail = crate::outbox::notify(
            c,
            &account,
            crate::outbox::kind::NEW_DEVICE,
            &serde_json::json!({
                "name": account.username,
                "ip": new.ip,
                "device": crate::sessions::device::describe_in(new.user_agent, &account.lang),
            }),
            now,
        )?;
    }
    let groups = crate::groups::of_account(c, account.id)?;
    Ok((
        Started::Session {
            session: Box::new(session),
            refresh,
            account: Box::new(account),
            groups,
        },
        effect,
    ))
}

/// Whether the account as it is now is the one a sign-in checked (same version and
/// password, not disabled).
fn unchanged(now: &Account, checked: &Account) -> bool {
    !now.disabled && now.version == checked.version && now.password_hash == checked.password_hash
}

/// The password was right and the account has a second factor: a pending sign-in
/// instead of a session (refunding the password attempt without ending the run of
/// failures: that waits for the second factor), unless the account changed meanwhile.
pub fn await_second_factor(
    conn: &mut DbConn,
    new: &NewSignIn<'_>,
    now: i64,
) -> Result<(Option<String>, Effect)> {
    write_tx(conn, |c| {
        let checked = new.checked;
        match accounts::find_for_update(c, checked.id)? {
            Some(a) if unchanged(&a, checked) => {
                if let Some(hash) = new.rehash {
                    accounts::set_password_hash(c, a.id, hash)?;
                }
                throttle::succeeded(c, new.throttle_key, true, now)?;
                let token =
                    pending::create(c, a.id, a.version, new.remember, new.throttle_key, now)?;
                Ok((Some(token), Effect::none()))
            }
            _ => {
                audit::record(
                    c,
                    &Event::new(Kind::LoginFailure, new.ip, now)
                        .subject(checked.id, &checked.username)
                        .detail("the account changed while signing in"),
                )?;
                Ok((None, Effect::sign_in(SignInOutcome::Failure)))
            }
        }
    })
}

/// A sign-in with a discoverable passkey (no username typed).
pub struct PasskeySignIn<'a> {
    pub answer: PasskeyAnswer<'a>,
    /// What binds its ceremony to the browser (`passkeys::presession_binding`).
    pub binding: &'a str,
    /// The name of the passkey's account (looked up before it was admitted), if any.
    pub name: &'a str,
    pub remember: bool,
    pub user_agent: &'a str,
    pub ip: &'a str,
    /// The throttle key it was admitted under (the credential's own) and the wait its
    /// admission started, if it did.
    pub throttle_key: &'a str,
    pub locked_for: Option<i64>,
    pub others_in_flight: bool,
    pub max_sessions: usize,
    pub new_device: bool,
}

/// Checks a passkey's answer to the sign-in ceremony and, when right and the account may
/// sign in, starts its session like a password sign-in (`passkey_sign_in` in the audit
/// log): all in one transaction, so that the ceremony is used once however many requests
/// bring the same answer. A refusal (`passkey_failure`) stays counted under the
/// credential's key and the address. Returns whether a session started.
pub fn passkey_sign_in(
    conn: &mut DbConn,
    step: &PasskeySignIn<'_>,
    now: i64,
) -> Result<(Started, Effect)> {
    write_tx(conn, |c| {
        let checked = passkeys::check_assertion(
            c,
            step.answer.rp,
            passkeys::kind::SIGN_IN,
            step.binding,
            None,
            step.answer.credential,
            now,
        )?;
        let (account, reason) = match checked {
            Assertion::Verified { account_id, .. } => {
                match accounts::find_for_update(c, account_id)? {
                    Some(a) if !a.disabled => {
                        let new = NewSignIn {
                            checked: &a,
                            rehash: None,
                            remember: step.remember,
                            user_agent: step.user_agent,
                            ip: step.ip,
                            throttle_key: step.throttle_key,
                            others_in_flight: step.others_in_flight,
                            max_sessions: step.max_sessions,
                            new_device: step.new_device,
                            event: Kind::PasskeySignIn,
                            amr: "hwk user",
                        };
                        return start_in(c, &new, now);
                    }
                    Some(a) => (Some(a), "account disabled"),
                    None => (None, "account deleted"),
                }
            }
            Assertion::Refused { account_id, reason } => (
                match account_id {
                    Some(id) => accounts::find(c, id)?,
                    None => None,
                },
                reason,
            ),
        };
        let failed = FailedSignIn {
            kind: Kind::PasskeyFailure,
            name: step.name,
            account: account.as_ref(),
            reason,
            ip: step.ip,
            locked_for: step.locked_for,
        };
        let mut effect = record_failed_in(c, &failed, now)?;
        effect.sign_in = Some(SignInOutcome::Failure);
        Ok((Started::AccountChanged, effect))
    })
}

/// The second step of a sign-in.
pub struct SecondStep<'a> {
    /// The `__Host-pending` token.
    pub token: &'a str,
    pub code: &'a str,
    pub user_agent: &'a str,
    pub ip: &'a str,
    /// The wait this attempt started when it was admitted to the throttle (under the
    /// pending sign-in's own key), if it did.
    pub locked_for: Option<i64>,
    /// A wrong code counts for the name too (`throttle::charge`).
    pub limits: &'a throttle::Limits,
    pub others_in_flight: bool,
    pub max_sessions: usize,
    /// The browser has not signed in to this account before.
    pub new_device: bool,
    /// A passkey's answer instead of a code.
    pub passkey: Option<PasskeyAnswer<'a>>,
}

/// A browser's answer to a passkey ceremony, and the relying party to check it with.
#[derive(Clone, Copy)]
pub struct PasskeyAnswer<'a> {
    pub rp: &'a RelyingParty,
    pub credential: &'a PublicKeyCredential,
}

pub enum SecondStepOutcome {
    Started(Started),
    /// Wrong (or replayed) code; so many tries are left.
    Wrong {
        left: i32,
    },
    /// No pending sign-in (expired, used, too many wrong codes, or the account changed).
    Gone,
}

/// Checks the code of a pending sign-in and, when right, starts its session: all in one
/// transaction, so that one code or one pending sign-in is used once however many
/// requests bring it.
pub fn finish_second_step(
    conn: &mut DbConn,
    vault: &crate::second_factor::vault::Vault,
    step: &SecondStep<'_>,
    now: i64,
) -> Result<(SecondStepOutcome, Effect)> {
    use crate::second_factor::CodeCheck;
    write_tx(conn, |c| {
        let Some(p) = pending::find(c, step.token, now)? else {
            return Ok((SecondStepOutcome::Gone, Effect::none()));
        };
        let account = match accounts::find_for_update(c, p.account_id)? {
            Some(a) if !a.disabled && a.version == p.account_version => a,
            _ => {
                pending::remove(c, &p.token_hash)?;
                return Ok((SecondStepOutcome::Gone, Effect::none()));
            }
        };
        let event = |kind| Event::new(kind, step.ip, now).subject(account.id, &account.username);
        let (check, failure) = match step.passkey {
            Some(answer) => {
                let binding = passkeys::pending_binding(&p.token_hash);
                match passkeys::check_assertion(
                    c,
                    answer.rp,
                    passkeys::kind::SECOND_STEP,
                    &binding,
                    Some(account.id),
                    answer.credential,
                    now,
                )? {
                    Assertion::Verified { .. } => {
                        (CodeCheck::Totp, (Kind::PasskeyFailure, String::new()))
                    }
                    Assertion::Refused { reason, .. } => (
                        CodeCheck::Wrong,
                        (Kind::PasskeyFailure, format!("second step: {reason}:")),
                    ),
                }
            }
            None => (
                crate::second_factor::check_code(c, vault, &account, step.code, now)?,
                (Kind::TwoFactorFailure, "wrong code".to_string()),
            ),
        };
        match check {
            CodeCheck::Wrong => {
                let failures = pending::failed(c, &p)?;
                // Admitted under the pending sign-in's key; the name counts it too.
                let name_locked_for = throttle::charge(c, &p.throttle_key, step.limits, now)?;
                let (kind, reason) = failure;
                audit::record(
                    c,
                    &event(kind).detail(format!(
                        "{reason} {failures} of {}",
                        pending::MAX_CODE_FAILURES
                    )),
                )?;
                let mut effect = Effect::sign_in(SignInOutcome::Failure);
                if let Some(wait) = step.locked_for.or(name_locked_for) {
                    audit::record(
                        c,
                        &event(Kind::Lockout).detail(format!(
                            "sign-in refused for {wait}s after repeated failures"
                        )),
                    )?;
                    effect.lockout = true;
                }
                // A wrong code that starts a wait (of this step, or of the name) ends it.
                if failures >= pending::MAX_CODE_FAILURES
                    || step.locked_for.or(name_locked_for).is_some()
                {
                    pending::remove(c, &p.token_hash)?;
                    return Ok((SecondStepOutcome::Gone, effect));
                }
                Ok((
                    SecondStepOutcome::Wrong {
                        left: pending::MAX_CODE_FAILURES - failures,
                    },
                    effect,
                ))
            }
            check => {
                pending::remove(c, &p.token_hash)?;
                if let CodeCheck::Recovery { left } = check {
                    audit::record(
                        c,
                        &event(Kind::RecoveryCodeUsed)
                            .detail(format!("{left} recovery codes left")),
                    )?;
                }
                let new = NewSignIn {
                    checked: &account,
                    rehash: None,
                    remember: p.remember,
                    user_agent: step.user_agent,
                    ip: step.ip,
                    throttle_key: &p.throttle_key,
                    others_in_flight: step.others_in_flight,
                    max_sessions: step.max_sessions,
                    new_device: step.new_device,
                    event: Kind::LoginSuccess,
                    amr: if step.passkey.is_some() {
                        "pwd hwk"
                    } else {
                        "pwd otp"
                    },
                };
                let (started, effect) = start_in(c, &new, now)?;
                Ok((SecondStepOutcome::Started(started), effect))
            }
        }
    })
}

pub use crate::accounts::Owner;

fn own_event<'a>(kind: Kind, owner: &'a Owner, now: i64) -> Event<'a> {
    Event::new(kind, &owner.ip, now)
        .actor(owner.account_id)
        .subject(owner.account_id, &owner.name)
}

/// Ends every live session of an account but `keep` (the one the request came in, when the
/// owner acts), in the caller's transaction: the account's version goes up, so that sign-ins
/// in flight and tokens issued under the old version are refused, `keep` moves to the new
/// version, and the others end with `reason` (each in the change feed). The one way this
/// is done; returns the ended sessions' ids, for the `Effect`.
pub fn end_every_session(
    conn: &mut DbConn,
    account_id: i64,
    keep: Option<&str>,
    reason: &str,
    now: i64,
) -> Result<Vec<String>> {
    let version = accounts::bump_version(conn, account_id)?;
    if keep.is_some() {
        store::keep_at_version(conn, account_id, keep, version)?;
    }
    store::end_all_for_account(conn, account_id, keep, reason, now)
}

/// Sign-out: ends the session the request came in.
pub fn sign_out(conn: &mut DbConn, owner: &Owner, now: i64) -> Result<Effect> {
    write_tx(conn, |c| {
        store::end(c, &owner.sid, "logout", now)?;
        audit::record(
            c,
            &own_event(Kind::Logout, owner, now).detail(format!("session {}", owner.sid)),
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
                &own_event(Kind::SessionRevoked, owner, now).detail(format!("session {sid}")),
            )?;
            Ok(Effect::ended(vec![sid.to_string()]))
        }
        _ => Err(Error::NotFound),
    })
}

/// Ends every other live session of the owner's (and sign-ins in flight).
pub fn revoke_others(conn: &mut DbConn, owner: &Owner, now: i64) -> Result<Effect> {
    write_tx(conn, |c| {
        let ended = end_every_session(
            c,
            owner.account_id,
            Some(&owner.sid),
            "revoked_by_user",
            now,
        )?;
        audit::record(
            c,
            &own_event(Kind::SessionsRevoked, owner, now)
                .detail(format!("{} other sessions ended", ended.len())),
        )?;
        Ok(Effect::ended(ended))
    })
}

/// A wrong current password on the password form: recorded (see `failed_in_session`).
pub fn wrong_current_password(
    conn: &mut DbConn,
    failed: &SessionFailure<'_>,
    now: i64,
) -> Result<Effect> {
    write_tx(conn, |c| failed_in_session(c, failed, now))
}

/// A failed password (or code) check in a live session: the password form, "confirm it's
/// you".
pub struct SessionFailure<'a> {
    pub owner: &'a Owner,
    /// The audit kind: `password_change_failure`, `reauth_failure`.
    pub kind: Kind,
    pub reason: &'a str,
    /// The wait this attempt started under the session's own throttle key, if it did.
    pub locked_for: Option<i64>,
    pub limits: &'a throttle::Limits,
}

/// Records a failed check in a live session, inside the caller's transaction. It was
/// admitted under the session's own throttle key (so that a stranger's failures cannot
/// lock the owner's session out); it counts for the account's name too, so that whoever
/// holds a stolen session makes the name wait for new browsers as wrong sign-ins would.
/// When it reached the threshold of the session's key, the session ends: whoever holds it
/// cannot keep guessing.
pub fn failed_in_session(c: &mut DbConn, failed: &SessionFailure<'_>, now: i64) -> Result<Effect> {
    let owner = failed.owner;
    audit::record(c, &own_event(failed.kind, owner, now).detail(failed.reason))?;
    let name_locked_for = throttle::charge(c, &owner.name, failed.limits, now)?;
    let Some(wait) = failed.locked_for.or(name_locked_for) else {
        return Ok(Effect::none());
    };
    let mut detail = format!("sign-in refused for {wait}s after repeated failures");
    if failed.locked_for.is_some() {
        detail.push_str(&format!("; session {} ended", owner.sid));
    }
    audit::record(c, &own_event(Kind::Lockout, owner, now).detail(detail))?;
    if failed.locked_for.is_none() {
        return Ok(Effect {
            lockout: true,
            ..Effect::none()
        });
    }
    store::end(c, &owner.sid, "lockout", now)?;
    Ok(Effect {
        lockout: true,
        ..Effect::ended(vec![owner.sid.clone()])
    })
}

/// Sets the owner's new password (already checked and hashed) and ends every other
/// session; returns the account as it is now, and its groups.
pub fn change_password(
    conn: &mut DbConn,
    owner: &Owner,
    hash: &str,
    now: i64,
) -> Result<((Account, Vec<String>), Effect)> {
    write_tx(conn, |c| {
        accounts::set_password(c, owner.account_id, hash)?;
        let ended = end_every_session(
            c,
            owner.account_id,
            Some(&owner.sid),
            "password_changed",
            now,
        )?;
        let account = accounts::find(c, owner.account_id)?.ok_or(Error::NotFound)?;
        audit::record(
            c,
            &own_event(Kind::PasswordChanged, owner, now)
                .detail(format!("{} other sessions ended", ended.len())),
        )?;
        let groups = crate::groups::of_account(c, account.id)?;
        let mut effect = Effect::ended(ended);
        effect.mail = crate::outbox::notify(
            c,
            &account,
            crate::outbox::kind::PASSWORD_CHANGED,
            &serde_json::json!({ "name": account.username, "ip": owner.ip }),
            now,
        )?;
        Ok(((account, groups), effect))
    })
}

/// A "confirm it's you" attempt whose password has been checked.
pub struct Confirmation<'a> {
    pub owner: &'a Owner,
    pub account: &'a Account,
    pub password_ok: bool,
    /// The second-factor code typed (ignored when the account has none).
    pub code: &'a str,
    /// The key the attempt was admitted under (the session's own), and the wait its
    /// admission started, if it did.
    pub throttle_key: &'a str,
    pub locked_for: Option<i64>,
    pub others_in_flight: bool,
    pub limits: &'a throttle::Limits,
    /// A passkey's answer instead of a code.
    pub passkey: Option<PasskeyAnswer<'a>>,
}

/// Completes a confirmation: checks (and uses up) the code where a second factor is set;
/// when both are right, refunds the attempt and records the time on the session
/// (`reauth`); otherwise records `reauth_failure`, and at the lockout ends the session.
/// Returns whether it was confirmed.
pub fn confirm_identity(
    conn: &mut DbConn,
    vault: &crate::second_factor::vault::Vault,
    check: &Confirmation<'_>,
    now: i64,
) -> Result<(bool, Effect)> {
    use crate::second_factor::CodeCheck;
    write_tx(conn, |c| {
        let owner = check.owner;
        let code_ok = !check.account.has_second_factor()
            || (check.password_ok
                && match check.passkey {
                    Some(answer) => matches!(
                        passkeys::check_assertion(
                            c,
                            answer.rp,
                            passkeys::kind::REAUTH,
                            &passkeys::session_binding(&owner.sid),
                            Some(owner.account_id),
                            answer.credential,
                            now,
                        )?,
                        Assertion::Verified { .. }
                    ),
                    None => {
                        crate::second_factor::check_code(c, vault, check.account, check.code, now)?
                            != CodeCheck::Wrong
                    }
                });
        if check.password_ok && code_ok {
            throttle::succeeded(c, check.throttle_key, check.others_in_flight, now)?;
            store::confirm(c, &owner.sid, now)?;
            audit::record(c, &own_event(Kind::Reauth, owner, now))?;
            return Ok((true, Effect::none()));
        }
        let reason = if check.password_ok && check.passkey.is_some() {
            "the passkey was refused"
        } else if check.password_ok {
            "wrong code"
        } else {
            "wrong password"
        };
        let failed = SessionFailure {
            owner,
            kind: Kind::ReauthFailure,
            reason,
            locked_for: check.locked_for,
            limits: check.limits,
        };
        Ok((false, failed_in_session(c, &failed, now)?))
    })
}

/// The owner's choice of the language its mail is written in (`lang`, one of
/// `i18n::SUPPORTED`). Only the owner's own page calls this: a request's language never
/// changes the stored one.
pub fn set_mail_language(conn: &mut DbConn, owner: &Owner, lang: &str, now: i64) -> Result<Effect> {
    use diesel::prelude::*;
    let lang = crate::i18n::supported(lang).ok_or(Error::NotFound)?;
    crate::db::write_tx(conn, |c| {
        let n = diesel::update(crate::db::schema::accounts::table.find(owner.account_id))
            .set(crate::db::schema::accounts::lang.eq(lang))
            .execute(c)?;
        if n == 0 {
            return Err(Error::NotFound);
        }
        crate::audit::record(
            c,
            &crate::audit::Event::new(Kind::MailLanguageChanged, &owner.ip, now)
                .actor(owner.account_id)
                .subject(owner.account_id, &owner.name)
                .detail(lang.to_string()),
        )?;
        Ok(Effect::none())
    })
}
