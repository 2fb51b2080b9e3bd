//! The change feed between instances. Ending a session or changing a role writes a row to
//! `changes` in the same transaction; every instance reads the recent rows twice a second
//! and applies them to its in-memory view, so a revocation made on one instance is
//! refused on all of them within about a second. Re-reading a window of recent rows
//! each time (not only rows after the last id) means a change whose transaction commits
//! late, or whose writer's clock is a little behind, is still seen; applying a change
//! twice is harmless.

use diesel::prelude::*;

use crate::accounts::Role;
use crate::db::schema::changes;
use crate::db::DbConn;
use crate::error::Result;
use crate::sessions::revocations::Revocations;

/// How far back each poll looks, beyond the previous poll.
pub const OVERLAP: i64 = 10;
/// Rows older than this are deleted: no instance needs them any more.
pub const KEEP: i64 = 86_400;

pub fn session_ended(conn: &mut DbConn, session_id: &str, at: i64) -> Result<()> {
    diesel::insert_into(changes::table)
        .values((
            changes::at.eq(at),
            changes::kind.eq("session_ended"),
            changes::session_id.eq(session_id),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn role_changed(conn: &mut DbConn, account_id: i64, role: Role, at: i64) -> Result<()> {
    diesel::insert_into(changes::table)
        .values((
            changes::at.eq(at),
            changes::kind.eq("role"),
            changes::account_id.eq(account_id),
            changes::role.eq(role.as_str()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Applies every change made at or after `since`, in order; returns how many.
pub fn catch_up(conn: &mut DbConn, view: &Revocations, since: i64) -> Result<usize> {
    type Row = (i64, String, Option<String>, Option<i64>, Option<String>);
    let rows: Vec<Row> = changes::table
        .filter(changes::at.ge(since))
        .order(changes::id.asc())
        .select((
            changes::at,
            changes::kind,
            changes::session_id,
            changes::account_id,
            changes::role,
        ))
        .load(conn)?;
    let n = rows.len();
    for (at, kind, session_id, account_id, role) in rows {
        match (
            kind.as_str(),
            session_id,
            account_id,
            role.as_deref().and_then(Role::parse),
        ) {
            ("session_ended", Some(sid), _, _) => view.end_session(&sid, at),
            ("role", _, Some(account), Some(role)) => view.set_role(account, role, at),
            _ => {}
        }
    }
    Ok(n)
}

pub fn prune(conn: &mut DbConn, now: i64) -> Result<usize> {
    Ok(diesel::delete(changes::table.filter(changes::at.lt(now - KEEP))).execute(conn)?)
}
