//! The state changes that go by mail: setting an address (verified by a link), a
//! forgotten password, an invitation. Each owns its transaction, its audit row and the
//! mail it queues.

use crate::audit::Kind;
use diesel::prelude::*;
use serde_json::json;

use super::{address_key, kind, queue, tokens, MailAddress};
use crate::accounts::Owner;
use crate::accounts::{self, throttle, Account};
use crate::audit::{self, Event};
use crate::db::schema::accounts as accounts_table;
use crate::db::{write_tx, DbConn};
use crate::effect::Effect;
use crate::error::{Error, Result};

/// The account other than `except` whose verified address has `key`, if any. Only
/// verified addresses are unique: an unverified claim blocks nobody.
fn verified_owner(c: &mut DbConn, key: &str, except: i64) -> Result<Option<Account>> {
    Ok(accounts_table::table
        .filter(accounts_table::email_key.eq(key))
        .filter(accounts_table::email_verified_at.is_not_null())
        .filter(accounts_table::id.ne(except))
        .select(Account::as_select())
        .first(c)
        .optional()?)
}

/// Gives `account` the address, unverified (inside the caller's transaction). Returns the
/// verified address it had.
fn assign_pending(
    c: &mut DbConn,
    account: &Account,
    address: &MailAddress,
) -> Result<Option<String>> {
    let old = account.verified_email().map(str::to_string);
    diesel::update(accounts_table::table.find(account.id))
        .set((
            accounts_table::email.eq(&address.address),
            accounts_table::email_key.eq(&address.key),
            accounts_table::email_verified_at.eq(None::<i64>),
        ))
        .execute(c)?;
    Ok(old)
}

/// Gives a new account (an invitation) the address, unverified (inside the caller's
/// transaction): `Error::Conflict` when another account has verified it.
pub fn assign_email(c: &mut DbConn, account: &Account, address: &MailAddress) -> Result<()> {
    if verified_owner(c, &address.key, account.id)?.is_some() {
        return Err(Error::Conflict("that address belongs to another account"));
    }
    assign_pending(c, account, address)?;
    Ok(())
}

/// Sends the link that verifies `email` to it (inside the caller's transaction, after the
/// address is the account's: the link is bound to it).
fn send_verification(c: &mut DbConn, account: &Account, email: &str, now: i64) -> Result<()> {
    let token = tokens::issue(c, tokens::VERIFY_EMAIL, account.id, email, now)?;
    queue(
        c,
        email,
        &account.lang,
        kind::VERIFY_EMAIL,
        Some(account.id),
        &json!({ "token": token, "name": account.username }),
        now,
    )
}

/// Address changes, like reset requests: at most three an hour for one account, and ten
/// an hour from one client address (as `/password/forgot`). Not per target address: a
/// budget shared by whoever names an address would let anyone block its real owner.
fn admit_address_change(
    c: &mut DbConn,
    account_id: i64,
    client_ip: &str,
    now: i64,
) -> Result<Option<i64>> {
    for (throttle_key, limits) in [
        (format!("email-account:{account_id}"), &RESET_LIMITS),
        (format!("email-client:{client_ip}"), &ADDRESS_CLIENT_LIMITS),
    ] {
        if let throttle::Admission::Wait(wait) = throttle::admit(c, &throttle_key, limits, now)? {
            return Ok(Some(wait));
        }
    }
    Ok(None)
}

/// Address changes from one client address: ten an hour.
pub const ADDRESS_CLIENT_LIMITS: throttle::Limits = throttle::Limits {
    per_hour: 10,
    ..RESET_LIMITS
};

/// Sets (or changes) the owner's address: unverified until its link is followed; the
/// new address gets the link, a verified old one is told; all in the account's stored
/// language. When another account has verified the address, the answer is the same, but
/// that account is told instead of a link being sent (first to verify wins, so nothing
/// could be verified). `Some(seconds)` when too many changes were asked for.
pub fn set_email(
    conn: &mut DbConn,
    owner: &Owner,
    address: &MailAddress,
    now: i64,
) -> Result<(Option<i64>, Effect)> {
    write_tx(conn, |c| {
        let account = accounts::find_for_update(c, owner.account_id)?.ok_or(Error::NotFound)?;
        if account.email_key.as_deref() == Some(address.key.as_str())
            && account.email_verified_at.is_some()
        {
            return Ok((None, Effect::none()));
        }
        if let Some(wait) = admit_address_change(c, account.id, &owner.ip, now)? {
            return Ok((Some(wait), Effect::none()));
        }
        let old = assign_pending(c, &account, address)?;
        let detail = match verified_owner(c, &address.key, account.id)? {
            Some(holder) => {
                super::notify(
                    c,
                    &holder,
                    kind::ADDRESS_IN_USE,
                    &json!({ "name": holder.username }),
                    now,
                )?;
                "the address belongs to another account (told); no verification sent"
            }
            None => {
                send_verification(c, &account, &address.address, now)?;
                "verification sent"
            }
        };
        if let Some(old) = &old {
            queue(
                c,
                old,
                &account.lang,
                kind::EMAIL_CHANGED,
                Some(account.id),
                &json!({ "name": account.username, "new": address.address }),
                now,
            )?;
        }
        audit::record(
            c,
            &Event::new(Kind::EmailChanged, &owner.ip, now)
                .actor(owner.account_id)
                .subject(account.id, &account.username)
                .detail(format!(
                    "{}; {detail}",
                    if old.is_some() {
                        "address changed"
                    } else {
                        "address set"
                    }
                )),
        )?;
        Ok((None, Effect::mail()))
    })
}

/// Follows a verification link: the address it was sent to becomes verified, if it is
/// still the account's (the link's stamp) and no other account verified it first.
pub fn verify_email(conn: &mut DbConn, token: &str, ip: &str, now: i64) -> Result<Option<Account>> {
    write_tx(conn, |c| {
        let Some((t, account)) = tokens::take(c, tokens::VERIFY_EMAIL, token, now)? else {
            return Ok(None);
        };
        let Some(key) = account.email_key.clone() else {
            return Ok(None);
        };
        if address_key(&t.email).as_deref() != Some(key.as_str())
            || verified_owner(c, &key, account.id)?.is_some()
        {
            return Ok(None);
        }
        diesel::update(accounts_table::table.find(account.id))
            .set(accounts_table::email_verified_at.eq(now))
            .execute(c)?;
        audit::record(
            c,
            &Event::new(Kind::EmailVerified, ip, now).subject(account.id, &account.username),
        )?;
        accounts::find(c, account.id)
    })
}

/// Password-reset requests: at most three an hour for one name or address, and three
/// links an hour for one account.
pub const RESET_LIMITS: throttle::Limits = throttle::Limits {
    lockout_after: i32::MAX,
    base_wait: 1,
    max_wait: 1,
    per_hour: 3,
};

/// A forgotten password: whatever `login` is (a username or an address), the same work is
/// done and recorded; a matching active account with a verified address gets a link.
pub fn request_reset(conn: &mut DbConn, login: &str, ip: &str, now: i64) -> Result<Effect> {
    let login = crate::text::printable(login.trim(), 254);
    write_tx(conn, |c| {
        let by_name = if login.contains('@') {
            None
        } else {
            accounts::find_by_username(c, &login)?
        };
        let account = match (by_name, address_key(&login)) {
            (Some(a), _) => Some(a),
            (None, Some(key)) => accounts_table::table
                .filter(accounts_table::email_key.eq(key))
                .filter(accounts_table::email_verified_at.is_not_null())
                .select(Account::as_select())
                .first(c)
                .optional()?,
            (None, None) => None,
        };
        let target = account.filter(|a| !a.disabled && a.verified_email().is_some());
        let mut event = Event::new(Kind::PasswordResetRequested, ip, now).attempted_name(&login);
        let mut effect = Effect::none();
        // At most three links an hour per account, whichever name or address asked.
        let admitted = match &target {
            Some(a) => {
                let key = format!("reset-account:{}", a.id);
                matches!(
                    throttle::admit(c, &key, &RESET_LIMITS, now)?,
                    throttle::Admission::Admitted { .. }
                )
            }
            None => false,
        };
        if let (Some(a), false) = (&target, admitted) {
            event = event
                .subject(a.id, &a.username)
                .detail("too many links this hour; none sent");
        } else if let Some(a) = &target {
            let to = a.verified_email().unwrap_or_default().to_string();
            let token = tokens::issue(c, tokens::RESET_PASSWORD, a.id, &to, now)?;
            queue(
                c,
                &to,
                &a.lang,
                kind::RESET_LINK,
                Some(a.id),
                &json!({ "token": token, "name": a.username }),
                now,
            )?;
            event = event.subject(a.id, &a.username).detail("link sent");
            effect = Effect::mail();
        } else {
            event = event.detail("no account with a verified address matches");
        }
        audit::record(c, &event)?;
        Ok(effect)
    })
}

/// Sets a new password through a reset link: every session of the account ends, its
/// failure count is cleared, and it is told.
pub fn reset_password(
    conn: &mut DbConn,
    token: &str,
    hash: &str,
    ip: &str,
    now: i64,
) -> Result<Option<Effect>> {
    write_tx(conn, |c| {
        let Some((_, account)) = tokens::take(c, tokens::RESET_PASSWORD, token, now)? else {
            return Ok(None);
        };
        accounts::set_password(c, account.id, hash)?;
        throttle::clear(c, &account.username_key)?;
        let ended = crate::sessions::end_every_session(c, account.id, None, "password_reset", now)?;
        audit::record(
            c,
            &Event::new(Kind::PasswordReset, ip, now)
                .actor(account.id)
                .subject(account.id, &account.username)
                .detail(format!(
                    "through a mailed link; {} sessions ended",
                    ended.len()
                )),
        )?;
        super::notify(
            c,
            &account,
            kind::PASSWORD_RESET,
            &json!({ "name": account.username, "ip": ip }),
            now,
        )?;
        let mut effect = Effect::ended(ended);
        effect.mail = true;
        Ok(Some(effect))
    })
}

/// The account an invitation is for, without using it (to show its page).
pub fn invitation(conn: &mut DbConn, token: &str, now: i64) -> Result<Option<Account>> {
    Ok(tokens::peek(conn, tokens::INVITATION, token, now)?.map(|(_, account)| account))
}

/// Accepts an invitation: the account gets its password, and the address the invitation
/// went to is verified by the same act (unless another account verified it first).
pub fn accept_invitation(
    conn: &mut DbConn,
    token: &str,
    hash: &str,
    ip: &str,
    now: i64,
) -> Result<Option<Account>> {
    write_tx(conn, |c| {
        let Some((t, account)) = tokens::take(c, tokens::INVITATION, token, now)? else {
            return Ok(None);
        };
        accounts::set_password(c, account.id, hash)?;
        let key = address_key(&t.email);
        if key.is_some()
            && account.email_key == key
            && verified_owner(
                c,
                account.email_key.as_deref().unwrap_or_default(),
                account.id,
            )?
            .is_none()
        {
            diesel::update(accounts_table::table.find(account.id))
                .set(accounts_table::email_verified_at.eq(now))
                .execute(c)?;
        }
        audit::record(
            c,
            &Event::new(Kind::InvitationAccepted, ip, now)
                .actor(account.id)
                .subject(account.id, &account.username),
        )?;
        accounts::find(c, account.id)
    })
}
