//! One-time links by mail: at least 256 random bits, stored only as a SHA-256 hash, each
//! for one purpose and one address, used once.

use diesel::prelude::*;

use crate::db::schema::mail_tokens;
use crate::db::DbConn;
use crate::error::Result;
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
}

/// A new link token of `kind` for the account at `email`; earlier unused ones of the same
/// kind stop working.
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
    let token = crate::random::token::<32>()?;
    diesel::insert_into(mail_tokens::table)
        .values((
            mail_tokens::token_hash.eq(hash_token(&token)),
            mail_tokens::kind.eq(kind),
            mail_tokens::account_id.eq(account_id),
            mail_tokens::email.eq(email),
            mail_tokens::created_at.eq(now),
            mail_tokens::expires_at.eq(now + ttl(kind)),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The live token, without using it (to show its page).
pub fn peek(conn: &mut DbConn, kind: &str, token: &str, now: i64) -> Result<Option<MailToken>> {
    if !crate::random::is_token::<32>(token) {
        return Ok(None);
    }
    Ok(mail_tokens::table
        .find(hash_token(token))
        .filter(mail_tokens::kind.eq(kind))
        .filter(mail_tokens::used_at.is_null())
        .filter(mail_tokens::expires_at.gt(now))
        .select(MailToken::as_select())
        .first(conn)
        .optional()?)
}

/// Uses the token up: `Some` for exactly one caller however many bring it at once (a
/// conditional update inside the caller's transaction).
pub fn take(conn: &mut DbConn, kind: &str, token: &str, now: i64) -> Result<Option<MailToken>> {
    let Some(t) = peek(conn, kind, token, now)? else {
        return Ok(None);
    };
    let used = diesel::update(
        mail_tokens::table
            .find(&t.token_hash)
            .filter(mail_tokens::used_at.is_null()),
    )
    .set(mail_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok((used == 1).then_some(t))
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

/// Deletes used and expired tokens.
pub fn prune(conn: &mut DbConn, now: i64) -> Result<usize> {
    Ok(diesel::delete(
        mail_tokens::table.filter(
            mail_tokens::used_at
                .is_not_null()
                .or(mail_tokens::expires_at.le(now)),
        ),
    )
    .execute(conn)?)
}
