//! Sign-ins waiting for their second factor: the password was right, no session exists
//! yet. The browser holds a random token (`__Host-pending`, five minutes); the database
//! holds its hash, the account version it was made for, and the wrong codes so far.

use diesel::prelude::*;

use crate::db::schema::pending_sign_ins;
use crate::db::DbConn;
use crate::error::Result;

/// How long the second step may take.
pub const PENDING_TTL: i64 = 300;
/// Wrong codes that end the pending sign-in.
pub const MAX_CODE_FAILURES: i32 = 5;
/// Pending sign-ins kept per account: a new one drops the oldest beyond this, so that
/// correct passwords sent in a loop cannot pile up rows.
pub const MAX_PER_ACCOUNT: usize = 5;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pending_sign_ins)]
pub struct Pending {
    pub token_hash: String,
    pub account_id: i64,
    pub account_version: i64,
    pub remember: bool,
    pub throttle_key: String,
    pub failures: i32,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Starts a pending sign-in; returns the token for the browser.
pub fn create(
    conn: &mut DbConn,
    account_id: i64,
    account_version: i64,
    remember: bool,
    throttle_key: &str,
    now: i64,
) -> Result<String> {
    let token = crate::random::token::<32>()?;
    diesel::insert_into(pending_sign_ins::table)
        .values((
            pending_sign_ins::token_hash.eq(super::store::hash_token(&token)),
            pending_sign_ins::account_id.eq(account_id),
            pending_sign_ins::account_version.eq(account_version),
            pending_sign_ins::remember.eq(remember),
            pending_sign_ins::throttle_key.eq(throttle_key),
            pending_sign_ins::created_at.eq(now),
            pending_sign_ins::expires_at.eq(now + PENDING_TTL),
        ))
        .execute(conn)?;
    let hash = super::store::hash_token(&token);
    let others: Vec<String> = pending_sign_ins::table
        .filter(pending_sign_ins::account_id.eq(account_id))
        .filter(pending_sign_ins::token_hash.ne(&hash))
        .filter(pending_sign_ins::expires_at.gt(now))
        .order(pending_sign_ins::created_at.desc())
        .select(pending_sign_ins::token_hash)
        .load(conn)?;
    let dropped: Vec<&String> = others.iter().skip(MAX_PER_ACCOUNT - 1).collect();
    diesel::delete(
        pending_sign_ins::table
            .filter(pending_sign_ins::account_id.eq(account_id))
            .filter(
                pending_sign_ins::token_hash
                    .eq_any(dropped)
                    .or(pending_sign_ins::expires_at.le(now)),
            ),
    )
    .execute(conn)?;
    Ok(token)
}

/// The live pending sign-in of `token` (locked until the transaction ends on PostgreSQL).
pub fn find(conn: &mut DbConn, token: &str, now: i64) -> Result<Option<Pending>> {
    if !crate::random::is_token::<32>(token) {
        return Ok(None);
    }
    let query = pending_sign_ins::table
        .find(super::store::hash_token(token))
        .filter(pending_sign_ins::expires_at.gt(now));
    Ok(match conn {
        DbConn::Pg(c) => query
            .select(Pending::as_select())
            .for_update()
            .first(c)
            .optional()?,
        DbConn::Sqlite(c) => query.select(Pending::as_select()).first(c).optional()?,
    })
}

pub fn remove(conn: &mut DbConn, token_hash: &str) -> Result<()> {
    diesel::delete(pending_sign_ins::table.find(token_hash)).execute(conn)?;
    Ok(())
}

/// Counts a wrong code; returns the failures so far.
pub fn failed(conn: &mut DbConn, p: &Pending) -> Result<i32> {
    diesel::update(pending_sign_ins::table.find(&p.token_hash))
        .set(pending_sign_ins::failures.eq(pending_sign_ins::failures + 1))
        .execute(conn)?;
    Ok(p.failures + 1)
}

/// Deletes up to `limit` pending sign-ins that expired; returns how many.
pub fn prune(conn: &mut DbConn, now: i64, limit: i64) -> Result<usize> {
    let hashes: Vec<String> = pending_sign_ins::table
        .filter(pending_sign_ins::expires_at.le(now))
        .select(pending_sign_ins::token_hash)
        .limit(limit)
        .load(conn)?;
    Ok(
        diesel::delete(
            pending_sign_ins::table.filter(pending_sign_ins::token_hash.eq_any(&hashes)),
        )
        .execute(conn)?,
    )
}
