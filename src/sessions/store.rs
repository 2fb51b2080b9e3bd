//! Sessions and their refresh-token families in the database.
//!
//! Each sign-in is one session; its refresh tokens form a chain (parent → child). A token
//! is used once: using it marks it and issues its child. Presenting a used token again is
//! tolerated only within the grace window and only for the newest used token (two tabs
//! renewing at once); any other reuse means a copy of the token is loose, so the whole
//! session ends.

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::accounts::{self, Account};
use crate::audit::{self, Event};
use crate::db::schema::{refresh_tokens, sessions};
use crate::db::DbConn;
use crate::effect::Effect;
use crate::error::Result;
use crate::sessions::feed;

/// Lifetime of a remembered refresh token, renewed on every use.
pub const REMEMBER_TTL: i64 = 30 * 86_400;
/// A session never lasts longer than this, however active.
pub const ABSOLUTE_TTL: i64 = 90 * 86_400;
/// A session without "remember me" ends after this long without a request.
pub const IDLE_TTL: i64 = 12 * 3_600;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: String,
    pub account_id: i64,
    pub remember: bool,
    pub user_agent: String,
    pub ip: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
struct RefreshRow {
    id: i64,
    session_id: String,
    expires_at: i64,
    used_at: Option<i64>,
}

/// A refresh token handed to the client, with when it stops working.
#[derive(Debug, Clone)]
pub struct IssuedRefresh {
    pub token: String,
    pub expires_at: i64,
    pub remember: bool,
}

pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn refresh_expiry(remember: bool, session_expires_at: i64, now: i64) -> i64 {
    let ttl = if remember { REMEMBER_TTL } else { IDLE_TTL };
    (now + ttl).min(session_expires_at)
}

fn insert_refresh(
    conn: &mut DbConn,
    session: &Session,
    parent: Option<i64>,
    now: i64,
) -> Result<IssuedRefresh> {
    let token = crate::random::token::<32>()?;
    let expires_at = refresh_expiry(session.remember, session.expires_at, now);
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::session_id.eq(&session.id),
            refresh_tokens::token_hash.eq(hash_token(&token)),
            refresh_tokens::parent_id.eq(parent),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(IssuedRefresh {
        token,
        expires_at,
        remember: session.remember,
    })
}

pub struct NewSession<'a> {
    pub account_id: i64,
    pub remember: bool,
    pub user_agent: &'a str,
    pub ip: &'a str,
}

/// Starts a session and its first refresh token. Runs inside the caller's transaction.
pub fn create(
    conn: &mut DbConn,
    new: &NewSession<'_>,
    now: i64,
) -> Result<(Session, IssuedRefresh)> {
    let session = Session {
        id: crate::random::token::<16>()?,
        account_id: new.account_id,
        remember: new.remember,
        user_agent: new.user_agent.chars().take(256).collect(),
        ip: new.ip.to_string(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + ABSOLUTE_TTL,
        ended_at: None,
        end_reason: None,
    };
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(&session.id),
            sessions::account_id.eq(session.account_id),
            sessions::remember.eq(session.remember),
            sessions::user_agent.eq(&session.user_agent),
            sessions::ip.eq(&session.ip),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(session.expires_at),
        ))
        .execute(conn)?;
    let refresh = insert_refresh(conn, &session, None, now)?;
    Ok((session, refresh))
}

#[derive(Debug)]
pub enum Rotation {
    /// The token was good: here is the account, the session, and the next refresh token
    /// (`None` inside the grace window, where only a new access token is due).
    Rotated {
        account: Box<Account>,
        session: Box<Session>,
        refresh: Option<IssuedRefresh>,
    },
    /// A used token came back: this session has been ended.
    Reused { session_id: String },
    /// Unknown, expired, or its session is over.
    Invalid,
}

/// Uses a refresh token. Must run in one write transaction (see `rotate`).
fn rotate_in(conn: &mut DbConn, token: &str, grace: i64, ip: &str, now: i64) -> Result<Rotation> {
    let Some(row) = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash_token(token)))
        .select(RefreshRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(Rotation::Invalid);
    };
    let session: Session = sessions::table
        .find(&row.session_id)
        .select(Session::as_select())
        .first(conn)?;
    if session.ended_at.is_some() {
        return Ok(Rotation::Invalid);
    }
    let account = match accounts::find(conn, session.account_id)? {
        Some(a) if !a.disabled => a,
        _ => {
            end(conn, &session.id, "account_disabled", now)?;
            return Ok(Rotation::Invalid);
        }
    };
    if now >= session.expires_at {
        end(conn, &session.id, "expired", now)?;
        return Ok(Rotation::Invalid);
    }
    let used_at = match row.used_at {
        Some(used_at) => used_at,
        None => {
            if now >= row.expires_at {
                end(conn, &session.id, "idle", now)?;
                return Ok(Rotation::Invalid);
            }
            let marked = diesel::update(
                refresh_tokens::table
                    .find(row.id)
                    .filter(refresh_tokens::used_at.is_null()),
            )
            .set(refresh_tokens::used_at.eq(now))
            .execute(conn)?;
            if marked == 1 {
                diesel::update(sessions::table.find(&session.id))
                    .set(sessions::last_seen_at.eq(now))
                    .execute(conn)?;
                let refresh = insert_refresh(conn, &session, Some(row.id), now)?;
                return Ok(Rotation::Rotated {
                    account: Box::new(account),
                    session: Box::new(session),
                    refresh: Some(refresh),
                });
            }
            // Another request used it between our read and our write (PostgreSQL runs
            // these concurrently): treat it as the parallel-tab case below.
            refresh_tokens::table
                .find(row.id)
                .select(refresh_tokens::used_at)
                .first::<Option<i64>>(conn)?
                .unwrap_or(now)
        }
    };
    // Newest used token: its child exists and has not been used yet.
    let child_unused = refresh_tokens::table
        .filter(refresh_tokens::parent_id.eq(row.id))
        .filter(refresh_tokens::used_at.is_null())
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if child_unused && now - used_at < grace {
        return Ok(Rotation::Rotated {
            account: Box::new(account),
            session: Box::new(session),
            refresh: None,
        });
    }
    end(conn, &session.id, "refresh_token_reuse", now)?;
    audit::record(
        conn,
        &Event::new("refresh_token_reuse", ip, now)
            .subject(account.id, &account.username)
            .detail(format!(
                "session {} ended: refresh token {} reused {}s after its use",
                session.id,
                row.id,
                now - used_at
            )),
    )?;
    Ok(Rotation::Reused {
        session_id: session.id,
    })
}

/// Uses a refresh token, in one write transaction: the outcome, and what changed (a
/// rotation, or a session ended by reuse or expiry).
pub fn rotate(
    conn: &mut DbConn,
    token: &str,
    grace: i64,
    ip: &str,
    now: i64,
) -> Result<(Rotation, Effect)> {
    crate::db::write_tx(conn, |c| {
        let rotation = rotate_in(c, token, grace, ip, now)?;
        let effect = match &rotation {
            Rotation::Reused { session_id } => Effect {
                reused_session: Some(session_id.clone()),
                ..Effect::none()
            },
            Rotation::Rotated { refresh, .. } => Effect {
                rotated: refresh.is_some(),
                ..Effect::none()
            },
            Rotation::Invalid => Effect::none(),
        };
        Ok((rotation, effect))
    })
}

/// Ends one session (no-op if it already ended). Returns whether it was live.
pub fn end(conn: &mut DbConn, session_id: &str, reason: &str, now: i64) -> Result<bool> {
    let n = diesel::update(
        sessions::table
            .find(session_id)
            .filter(sessions::ended_at.is_null()),
    )
    .set((sessions::ended_at.eq(now), sessions::end_reason.eq(reason)))
    .execute(conn)?;
    if n == 1 {
        feed::session_ended(conn, session_id, now)?;
    }
    Ok(n == 1)
}

pub fn find(conn: &mut DbConn, session_id: &str) -> Result<Option<Session>> {
    Ok(sessions::table
        .find(session_id)
        .select(Session::as_select())
        .first(conn)
        .optional()?)
}

/// Live sessions of an account, newest first.
pub fn live_for_account(conn: &mut DbConn, account_id: i64, now: i64) -> Result<Vec<Session>> {
    Ok(sessions::table
        .filter(sessions::account_id.eq(account_id))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .order(sessions::last_seen_at.desc())
        .select(Session::as_select())
        .load(conn)?)
}

/// Ends every live session of an account except `keep`; returns the ids it ended.
pub fn end_all_for_account(
    conn: &mut DbConn,
    account_id: i64,
    keep: Option<&str>,
    reason: &str,
    now: i64,
) -> Result<Vec<String>> {
    let ids: Vec<String> = sessions::table
        .filter(sessions::account_id.eq(account_id))
        .filter(sessions::ended_at.is_null())
        .select(sessions::id)
        .load(conn)?;
    let ids: Vec<String> = ids
        .into_iter()
        .filter(|id| Some(id.as_str()) != keep)
        .collect();
    if !ids.is_empty() {
        diesel::update(sessions::table.filter(sessions::id.eq_any(&ids)))
            .set((sessions::ended_at.eq(now), sessions::end_reason.eq(reason)))
            .execute(conn)?;
        for id in &ids {
            feed::session_ended(conn, id, now)?;
        }
    }
    Ok(ids)
}
