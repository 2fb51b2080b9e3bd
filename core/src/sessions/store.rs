//! Sessions and their refresh-token families in the database.
//!
//! Each sign-in is one session; its refresh tokens form a chain (parent → child). A token
//! is used once: using it marks it and issues its child. Presenting a used token again is
//! tolerated only within the grace window and only for the newest used token (two tabs
//! renewing at once); any other reuse means a copy of the token is loose, so the whole
//! session ends.
//!
//! Every token starts with its session's family handle (16 random bytes, then 32 of its
//! own); the session keeps the handle's hash. So only the newest used token and its child
//! need a row: an older token, whose row is gone, is still known by its handle as one of
//! this session's, and its coming back is reuse like any other. A session holds at most
//! two rows however fast it rotates (plus, for a session started before families, the
//! rows it had then, until the retention prune).

use crate::audit::Kind;
use diesel::prelude::*;

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
    /// The account version the session belongs to; an older one is refused.
    pub account_version: i64,
    /// When the session last confirmed who it is (its sign-in, or `/reauth`).
    pub reauth_at: i64,
    /// How it was signed in (OpenID Connect `amr` values, space-separated).
    pub amr: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
struct RefreshRow {
    id: i64,
    session_id: String,
    expires_at: i64,
    used_at: Option<i64>,
    used_by: Option<String>,
}

/// A refresh token handed to the client, with when it stops working.
#[derive(Debug, Clone)]
pub struct IssuedRefresh {
    pub token: String,
    pub expires_at: i64,
    pub remember: bool,
}

pub use crate::random::hash_token;

/// Bytes of a session's family handle, at the start of each of its refresh tokens.
const HANDLE: usize = 16;
/// The random bytes of a refresh token after its handle.
const SECRET: usize = 32;
const TOKEN: usize = HANDLE + SECRET;

/// Whether `s` looks like a refresh token: one with a family handle, or one issued before
/// families (32 random bytes).
pub fn is_refresh_token(s: &str) -> bool {
    crate::random::is_token::<TOKEN>(s) || crate::random::is_token::<SECRET>(s)
}

/// The family handle a refresh token starts with (none for one issued before families).
fn handle_of(token: &str) -> Option<[u8; HANDLE]> {
    let bytes = crate::random::decode::<TOKEN>(token)?;
    let mut handle = [0u8; HANDLE];
    handle.copy_from_slice(&bytes[..HANDLE]);
    Some(handle)
}

/// What the session row keeps of its family handle.
fn family_hash(handle: &[u8; HANDLE]) -> String {
    crate::random::hash_bytes(handle)
}

/// Who presents a refresh token, as far as the server can tell: the device cookie when
/// there is one, else the address and user agent. Stored hashed with the token's use, so
/// that the grace window answers only the client that used it.
pub fn client_fingerprint(device: Option<&str>, ip: &str, user_agent: &str) -> String {
    match device {
        Some(nonce) => hash_token(&format!("device\n{nonce}")),
        None => hash_token(&format!("client\n{ip}\n{user_agent}")),
    }
}

fn refresh_expiry(remember: bool, session_expires_at: i64, now: i64) -> i64 {
    let ttl = if remember { REMEMBER_TTL } else { IDLE_TTL };
    (now + ttl).min(session_expires_at)
}

/// Issues a token of the family `handle` in `session` (the child of `parent`); returns it
/// with its row id.
fn insert_refresh(
    conn: &mut DbConn,
    session: &Session,
    handle: &[u8; HANDLE],
    parent: Option<i64>,
    now: i64,
) -> Result<(IssuedRefresh, i64)> {
    let mut bytes = [0u8; TOKEN];
    bytes[..HANDLE].copy_from_slice(handle);
    bytes[HANDLE..].copy_from_slice(&crate::random::bytes::<SECRET>()?);
    let token = crate::random::encode(&bytes);
    let expires_at = refresh_expiry(session.remember, session.expires_at, now);
    let id = diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::session_id.eq(&session.id),
            refresh_tokens::token_hash.eq(hash_token(&token)),
            refresh_tokens::parent_id.eq(parent),
            refresh_tokens::created_at.eq(now),
            refresh_tokens::expires_at.eq(expires_at),
            refresh_tokens::in_family.eq(true),
        ))
        .returning(refresh_tokens::id)
        .get_result::<i64>(conn)?;
    Ok((
        IssuedRefresh {
            token,
            expires_at,
            remember: session.remember,
        },
        id,
    ))
}

pub struct NewSession<'a> {
    pub account_id: i64,
    pub account_version: i64,
    pub remember: bool,
    pub user_agent: &'a str,
    pub ip: &'a str,
    /// How it was signed in (`amr` values, space-separated: "pwd", "pwd otp", "hwk user").
    pub amr: &'a str,
}

/// Starts a session and its first refresh token. Runs inside the caller's transaction.
pub fn create(
    conn: &mut DbConn,
    new: &NewSession<'_>,
    now: i64,
) -> Result<(Session, IssuedRefresh)> {
    let handle = crate::random::bytes::<HANDLE>()?;
    let session = Session {
        id: crate::random::token::<16>()?,
        account_id: new.account_id,
        remember: new.remember,
        user_agent: crate::text::printable(new.user_agent, 256),
        ip: new.ip.to_string(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + ABSOLUTE_TTL,
        ended_at: None,
        end_reason: None,
        account_version: new.account_version,
        reauth_at: now,
        amr: new.amr.to_string(),
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
            sessions::account_version.eq(session.account_version),
            sessions::reauth_at.eq(now),
            sessions::refresh_family.eq(family_hash(&handle)),
            sessions::amr.eq(&session.amr),
        ))
        .execute(conn)?;
    let (refresh, _) = insert_refresh(conn, &session, &handle, None, now)?;
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
        /// The account's groups, for its access token.
        groups: Vec<String>,
    },
    /// A used token came back: this session has been ended.
    Reused { session_id: String },
    /// Unknown, expired, or its session is over.
    Invalid,
}

/// Who presents a refresh token, and the rules for a used one coming back.
pub struct Presenter<'a> {
    pub ip: &'a str,
    /// `client_fingerprint` of the presenter.
    pub fingerprint: &'a str,
    /// Seconds after its use during which a token may come back from the same client.
    pub grace: i64,
}

/// Uses a refresh token. Must run in one write transaction (see `rotate`).
fn rotate_in(conn: &mut DbConn, token: &str, by: &Presenter<'_>, now: i64) -> Result<Rotation> {
    let handle = handle_of(token);
    let row = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash_token(token)))
        .select(RefreshRow::as_select())
        .first(conn)
        .optional()?;
    let session_id = match (&row, &handle) {
        (Some(row), _) => row.session_id.clone(),
        // No row: an older token of a family (its row deleted at a later rotation), or
        // nothing at all.
        (None, Some(handle)) => match sessions::table
            .filter(sessions::refresh_family.eq(family_hash(handle)))
            .select(sessions::id)
            .first::<String>(conn)
            .optional()?
        {
            Some(id) => id,
            None => return Ok(Rotation::Invalid),
        },
        (None, None) => return Ok(Rotation::Invalid),
    };
    let (session, family): (Session, Option<String>) = sessions::table
        .find(&session_id)
        .select((Session::as_select(), sessions::refresh_family))
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
    if session.account_version != account.version {
        // Started before a change that ends sessions (a sign-in in flight at the time).
        end(conn, &session.id, "account_changed", now)?;
        return Ok(Rotation::Invalid);
    }
    if now >= session.expires_at {
        end(conn, &session.id, "expired", now)?;
        return Ok(Rotation::Invalid);
    }
    let Some(row) = row else {
        return theft(
            conn,
            by,
            &account,
            session,
            "an older refresh token came back",
            now,
        );
    };
    let used = match row.used_at {
        Some(at) => Use {
            token_id: row.id,
            at,
            by: row.used_by,
        },
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
            .set((
                refresh_tokens::used_at.eq(now),
                refresh_tokens::used_by.eq(by.fingerprint),
            ))
            .execute(conn)?;
            if marked == 1 {
                let handle = match (handle, family) {
                    (Some(h), Some(f)) if family_hash(&h) == f => h,
                    // A session started before families: it gets one now.
                    (None, None) => {
                        let h = crate::random::bytes::<HANDLE>()?;
                        diesel::update(sessions::table.find(&session.id))
                            .set(sessions::refresh_family.eq(family_hash(&h)))
                            .execute(conn)?;
                        h
                    }
                    _ => return Ok(Rotation::Invalid),
                };
                diesel::update(sessions::table.find(&session.id))
                    .set(sessions::last_seen_at.eq(now))
                    .execute(conn)?;
                let (refresh, child) = insert_refresh(conn, &session, &handle, Some(row.id), now)?;
                // Only the token just used (for the grace window) and its child are still
                // needed: any other token of the family coming back is reuse, known by
                // its handle.
                diesel::delete(
                    refresh_tokens::table
                        .filter(refresh_tokens::session_id.eq(&session.id))
                        .filter(refresh_tokens::in_family.eq(true))
                        .filter(refresh_tokens::id.ne(row.id))
                        .filter(refresh_tokens::id.ne(child)),
                )
                .execute(conn)?;
                return Ok(Rotation::Rotated {
                    groups: crate::groups::of_account(conn, account.id)?,
                    account: Box::new(account),
                    session: Box::new(session),
                    refresh: Some(refresh),
                });
            }
            // Another request used it between our read and our write (PostgreSQL runs
            // these concurrently): treat it as the parallel-tab case below.
            let (at, used_by) = refresh_tokens::table
                .find(row.id)
                .select((refresh_tokens::used_at, refresh_tokens::used_by))
                .first::<(Option<i64>, Option<String>)>(conn)?;
            Use {
                token_id: row.id,
                at: at.unwrap_or(now),
                by: used_by,
            }
        }
    };
    grace_or_theft(conn, by, &used, account, session, now)
}

/// An earlier use of a refresh token.
struct Use {
    token_id: i64,
    at: i64,
    /// The fingerprint of the client that used it.
    by: Option<String>,
}

/// A used token came back. Within the grace window, from the client that used it, while
/// it is the newest used one: only a new access token (tabs renewing at
/// once). Anything else means a copy is loose: the session ends.
fn grace_or_theft(
    conn: &mut DbConn,
    by: &Presenter<'_>,
    used: &Use,
    account: Account,
    session: Session,
    now: i64,
) -> Result<Rotation> {
    let used_at = used.at;
    // Newest used token: its child exists and has not been used yet.
    let child_unused = refresh_tokens::table
        .filter(refresh_tokens::parent_id.eq(used.token_id))
        .filter(refresh_tokens::used_at.is_null())
        .count()
        .get_result::<i64>(conn)?
        > 0;
    let same_client = used.by.as_deref() == Some(by.fingerprint);
    // No cap on how often: a browser restoring many tabs sends them all at once, and a
    // thief with the same fingerprint gains nothing from a count (SPEC §3).
    if child_unused && now - used_at < by.grace && same_client {
        return Ok(Rotation::Rotated {
            groups: crate::groups::of_account(conn, account.id)?,
            account: Box::new(account),
            session: Box::new(session),
            refresh: None,
        });
    }
    let detail = format!(
        "refresh token {} reused {}s after its use{}",
        used.token_id,
        now - used_at,
        if same_client {
            ""
        } else {
            " by another client"
        }
    );
    theft(conn, by, &account, session, &detail, now)
}

/// A copy of a token of this session is loose: the session ends, the reuse is audited and
/// the owner told.
fn theft(
    conn: &mut DbConn,
    by: &Presenter<'_>,
    account: &Account,
    session: Session,
    what: &str,
    now: i64,
) -> Result<Rotation> {
    end(conn, &session.id, "refresh_token_reuse", now)?;
    audit::record(
        conn,
        &Event::new(Kind::RefreshTokenReuse, by.ip, now)
            .subject(account.id, &account.username)
            .detail(format!("session {} ended: {what}", session.id)),
    )?;
    crate::outbox::notify(
        conn,
        account,
        crate::outbox::kind::REFRESH_REUSE,
        &serde_json::json!({ "name": account.username, "ip": by.ip }),
        now,
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
    by: &Presenter<'_>,
    now: i64,
) -> Result<(Rotation, Effect)> {
    crate::db::write_tx(conn, |c| {
        let rotation = rotate_in(c, token, by, now)?;
        let effect = match &rotation {
            Rotation::Reused { session_id } => Effect {
                reused_session: Some(session_id.clone()),
                mail: true,
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
        crate::outbox::session_ended(conn, session_id, now)?;
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
pub(crate) fn end_all_for_account(
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
            crate::outbox::session_ended(conn, id, now)?;
        }
    }
    Ok(ids)
}

/// Ends the live sessions of an account beyond the `max` most recently active; returns
/// the ids it ended.
pub fn end_beyond(
    conn: &mut DbConn,
    account_id: i64,
    max: usize,
    reason: &str,
    now: i64,
) -> Result<Vec<String>> {
    let live: Vec<String> = sessions::table
        .filter(sessions::account_id.eq(account_id))
        .filter(sessions::ended_at.is_null())
        .order((sessions::last_seen_at.desc(), sessions::created_at.desc()))
        .select(sessions::id)
        .load(conn)?;
    let mut ended = Vec::new();
    for id in live.into_iter().skip(max) {
        if end(conn, &id, reason, now)? {
            ended.push(id);
        }
    }
    Ok(ended)
}

/// Moves live sessions of an account to its current `version` after a change they
/// survive (the session that changed the password, every session after a role change):
/// all of them, or only `only`.
pub fn keep_at_version(
    conn: &mut DbConn,
    account_id: i64,
    only: Option<&str>,
    version: i64,
) -> Result<()> {
    let live = sessions::table
        .filter(sessions::account_id.eq(account_id))
        .filter(sessions::ended_at.is_null());
    match only {
        Some(sid) => diesel::update(live.filter(sessions::id.eq(sid)))
            .set(sessions::account_version.eq(version))
            .execute(conn)?,
        None => diesel::update(live)
            .set(sessions::account_version.eq(version))
            .execute(conn)?,
    };
    Ok(())
}

/// Deletes up to `limit` refresh tokens that are no longer kept: those used more than
/// `keep` seconds ago, and those of sessions that ended (or expired) that long ago.
/// Returns how many. (Two look-ups, each along its own index.)
pub fn prune_tokens(conn: &mut DbConn, now: i64, keep: i64, limit: i64) -> Result<usize> {
    let before = now - keep;
    let mut ids: Vec<i64> = refresh_tokens::table
        .filter(refresh_tokens::used_at.lt(before))
        .select(refresh_tokens::id)
        .limit(limit)
        .load(conn)?;
    let left = limit - ids.len() as i64;
    if left > 0 {
        let old = sessions::table
            .filter(
                sessions::ended_at
                    .lt(before)
                    .or(sessions::expires_at.lt(before)),
            )
            .select(sessions::id);
        ids.extend(
            refresh_tokens::table
                .filter(refresh_tokens::session_id.eq_any(old))
                .filter(refresh_tokens::id.ne_all(&ids))
                .select(refresh_tokens::id)
                .limit(left)
                .load::<i64>(conn)?,
        );
    }
    Ok(
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::id.eq_any(&ids)))
            .execute(conn)?,
    )
}

/// Deletes up to `limit` sessions that ended (or expired) more than `keep` seconds ago
/// (their tokens go first, `prune_tokens`). Returns how many.
pub fn prune_sessions(conn: &mut DbConn, now: i64, keep: i64, limit: i64) -> Result<usize> {
    let before = now - keep;
    let ids: Vec<String> = sessions::table
        .filter(
            sessions::ended_at
                .lt(before)
                .or(sessions::expires_at.lt(before)),
        )
        .select(sessions::id)
        .limit(limit)
        .load(conn)?;
    Ok(diesel::delete(sessions::table.filter(sessions::id.eq_any(&ids))).execute(conn)?)
}

/// Records that the session confirmed who it is at `now` (a re-authentication).
pub fn confirm(conn: &mut DbConn, session_id: &str, now: i64) -> Result<()> {
    diesel::update(sessions::table.find(session_id))
        .set(sessions::reauth_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// For forward auth: whether `token` is the current refresh token of a live session, read
/// only (no rotation: a proxy may drop the new cookie, and a rotated token that never
/// reached the browser would later look stolen). Returns the account, the session and the
/// account's groups.
pub fn check_refresh(
    conn: &mut DbConn,
    token: &str,
    now: i64,
) -> Result<Option<(Account, Session, Vec<String>)>> {
    let Some(row) = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash_token(token)))
        .select(RefreshRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    if row.used_at.is_some() || now >= row.expires_at {
        return Ok(None);
    }
    let Some(session) = find(conn, &row.session_id)? else {
        return Ok(None);
    };
    if session.ended_at.is_some() || now >= session.expires_at {
        return Ok(None);
    }
    let account = match accounts::find(conn, session.account_id)? {
        Some(a) if !a.disabled && a.version == session.account_version => a,
        _ => return Ok(None),
    };
    let groups = crate::groups::of_account(conn, account.id)?;
    Ok(Some((account, session, groups)))
}
