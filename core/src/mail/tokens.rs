//! One-time links by mail: at least 256 random bits, stored only as a SHA-256 hash, each
//! for one purpose and one address, used once. Each is bound to what it was issued
//! against (its account's `stamp`): a change of the password, the address or the status
//! voids it, and an invitation dies once the account has a password.

use diesel::prelude::*;

use crate::accounts::{self, Account};
use crate::db::schema::mail_tokens;
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::random::hash_token;

pub const VERIFY_EMAIL: &str = "verify_email";
pub const RESET_PASSWORD: &str = "reset_password";
pub const INVITATION: &str = "invitation";

/// How long each kind of link works.
pub fn ttl(kind: &str) -> i64 {
    match kind {
        RESET_PASSWORD => 30 * 60,
        INVITATION => 7 * 86_400,
        _ => 86_400,
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mail_tokens)]
pub struct MailToken {
    pub token_hash: String,
    pub kind: String,
    pub account_id: i64,
    pub email: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// The account's `stamp` when the link was issued.
    pub stamp: String,
}

/// What a link is issued against, as one value: the password hash (any change, reset or
/// rehash), the address and whether and when it was verified, the status, and the
/// version (bumped by a password change, a disable, a role change, a sign-out
/// everywhere). A link works only while its account's stamp is the one it was issued
/// with.
pub fn stamp(account: &Account) -> String {
    hash_token(&format!(
        "{}\n{}\n{}\n{}\n{}",
        account.password_hash,
        account.email_key.as_deref().unwrap_or_default(),
        account
            .email_verified_at
            .map(|t| t.to_string())
            .unwrap_or_default(),
        account.disabled,
        account.version,
    ))
}

/// Whether a link still works for `account` as it is now.
fn still_valid(t: &MailToken, account: &Account) -> bool {
    !account.disabled
        && t.account_id == account.id
        && t.stamp == stamp(account)
        && (t.kind != INVITATION || account.password_hash == accounts::NO_PASSWORD)
}

/// A new link token of `kind` for the account at `email`, bound to the account as it is
/// now (call it after the change the link is about); earlier unused ones of the same kind
/// stop working.
pub fn issue(
    conn: &mut DbConn,
    kind: &str,
    account_id: i64,
    email: &str,
    now: i64,
) -> Result<String> {
    diesel::delete(
        mail_tokens::table
            .filter(mail_tokens::account_id.eq(account_id))
            .filter(mail_tokens::kind.eq(kind))
            .filter(mail_tokens::used_at.is_null()),
    )
    .execute(conn)?;
    let account = accounts::find(conn, account_id)?.ok_or(Error::NotFound)?;
    let token = crate::random::token::<32>()?;
    diesel::insert_into(mail_tokens::table)
        .values((
            mail_tokens::token_hash.eq(hash_token(&token)),
            mail_tokens::kind.eq(kind),
            mail_tokens::account_id.eq(account_id),
            mail_tokens::email.eq(email),
            mail_tokens::created_at.eq(now),
            mail_tokens::expires_at.eq(now + ttl(kind)),
            mail_tokens::stamp.eq(stamp(&account)),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The live token and its account (locked with `lock`, see `find_for_update`), if the link
/// still works.
fn live(
    conn: &mut DbConn,
    kind: &str,
    token: &str,
    now: i64,
    lock: bool,
) -> Result<Option<(MailToken, Account)>> {
    if !crate::random::is_token::<32>(token) {
        return Ok(None);
    }
    let Some(t) = mail_tokens::table
        .find(hash_token(token))
        .filter(mail_tokens::kind.eq(kind))
        .filter(mail_tokens::used_at.is_null())
        .filter(mail_tokens::expires_at.gt(now))
        .select(MailToken::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let account = if lock {
        accounts::find_for_update(conn, t.account_id)?
    } else {
        accounts::find(conn, t.account_id)?
    };
    Ok(account
        .filter(|a| still_valid(&t, a))
        .map(|account| (t, account)))
}

/// The live token and its account, without using it (to show its page).
pub fn peek(
    conn: &mut DbConn,
    kind: &str,
    token: &str,
    now: i64,
) -> Result<Option<(MailToken, Account)>> {
    live(conn, kind, token, now, false)
}

/// Uses the token up: `Some` for exactly one caller however many bring it at once (a
/// conditional update inside the caller's transaction), and only while the link still
/// works for its account, which stays locked until the transaction ends.
pub fn take(
    conn: &mut DbConn,
    kind: &str,
    token: &str,
    now: i64,
) -> Result<Option<(MailToken, Account)>> {
    let Some((t, account)) = live(conn, kind, token, now, true)? else {
        return Ok(None);
    };
    let used = diesel::update(
        mail_tokens::table
            .find(&t.token_hash)
            .filter(mail_tokens::used_at.is_null()),
    )
    .set(mail_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok((used == 1).then_some((t, account)))
}

/// Open invitations (unused, unexpired) of an account.
pub fn pending(conn: &mut DbConn, kind: &str, account_id: i64, now: i64) -> Result<Vec<MailToken>> {
    Ok(mail_tokens::table
        .filter(mail_tokens::account_id.eq(account_id))
        .filter(mail_tokens::kind.eq(kind))
        .filter(mail_tokens::used_at.is_null())
        .filter(mail_tokens::expires_at.gt(now))
        .select(MailToken::as_select())
        .load(conn)?)
}

/// Deletes up to `limit` used and expired tokens; returns how many.
pub fn prune(conn: &mut DbConn, now: i64, limit: i64) -> Result<usize> {
    let hashes: Vec<String> = mail_tokens::table
        .filter(
            mail_tokens::used_at
                .is_not_null()
                .or(mail_tokens::expires_at.le(now)),
        )
        .select(mail_tokens::token_hash)
        .limit(limit)
        .load(conn)?;
    Ok(
        diesel::delete(mail_tokens::table.filter(mail_tokens::token_hash.eq_any(&hashes)))
            .execute(conn)?,
    )
}
