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

/// The PostgreSQL channel on which writers announce new rows (delivered at commit).
pub const CHANNEL: &str = "gatehouse_changes";

fn announce(conn: &mut DbConn) -> Result<()> {
    use diesel::connection::SimpleConnection;
    if let DbConn::Pg(pg) = conn {
        pg.batch_execute(&format!("NOTIFY {CHANNEL}"))?;
    }
    Ok(())
}

pub fn session_ended(conn: &mut DbConn, session_id: &str, at: i64) -> Result<()> {
    diesel::insert_into(changes::table)
        .values((
            changes::at.eq(at),
            changes::kind.eq("session_ended"),
            changes::session_id.eq(session_id),
        ))
        .execute(conn)?;
    announce(conn)
}

/// An OpenID Connect grant or access token was revoked (`key`: `oidc::grant_key`,
/// `oidc::jti_key`), in the caller's transaction.
pub fn token_revoked(conn: &mut DbConn, key: &str, at: i64) -> Result<()> {
    diesel::insert_into(changes::table)
        .values((
            changes::at.eq(at),
            changes::kind.eq("token_revoked"),
            changes::detail.eq(key),
        ))
        .execute(conn)?;
    announce(conn)
}

/// The account's role or groups changed: its claims from now on (a `role` row; the
/// groups go in `detail` as a JSON array).
pub fn claims_changed(
    conn: &mut DbConn,
    account_id: i64,
    role: Role,
    groups: &[String],
    at: i64,
) -> Result<()> {
    let detail = serde_json::to_string(groups)
        .map_err(|e| crate::error::Error::Internal(format!("groups: {e}")))?;
    diesel::insert_into(changes::table)
        .values((
            changes::at.eq(at),
            changes::kind.eq("role"),
            changes::account_id.eq(account_id),
            changes::role.eq(role.as_str()),
            changes::detail.eq(detail),
        ))
        .execute(conn)?;
    announce(conn)
}

/// Applies every change made at or after `since`, in order; returns how many.
pub fn catch_up(conn: &mut DbConn, view: &Revocations, since: i64) -> Result<usize> {
    type Row = (
        i64,
        String,
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = changes::table
        .filter(changes::at.ge(since))
        .order(changes::id.asc())
        .select((
            changes::at,
            changes::kind,
            changes::session_id,
            changes::account_id,
            changes::role,
            changes::detail,
        ))
        .load(conn)?;
    let n = rows.len();
    for (at, kind, session_id, account_id, role, detail) in rows {
        match (
            kind.as_str(),
            session_id,
            account_id,
            role.as_deref().and_then(Role::parse),
        ) {
            ("session_ended", Some(sid), _, _) => view.end_session(&sid, at),
            ("token_revoked", _, _, _) => {
                if let Some(key) = &detail {
                    view.revoke(key, at)
                }
            }
            ("role", _, Some(account), Some(role)) => {
                let groups = detail.and_then(|d| serde_json::from_str(&d).ok());
                view.set_claims(account, role, groups, at)
            }
            _ => {}
        }
    }
    Ok(n)
}

/// Deletes up to `limit` rows older than the feed keeps; returns how many.
pub fn prune(conn: &mut DbConn, now: i64, limit: i64) -> Result<usize> {
    let ids: Vec<i64> = changes::table
        .filter(changes::at.lt(now - KEEP))
        .select(changes::id)
        .limit(limit)
        .load(conn)?;
    Ok(diesel::delete(changes::table.filter(changes::id.eq_any(&ids))).execute(conn)?)
}

/// Listens on the PostgreSQL channel from a thread of its own and wakes `wake` at each
/// notification. The thread ends when `wake` is dropped (its instance has stopped); a
/// lost connection is re-established after a pause, and the periodic catch-up covers
/// whatever was announced meanwhile.
pub fn listen(url: String, wake: std::sync::Weak<tokio::sync::Notify>) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    std::thread::spawn(move || {
        while wake.strong_count() > 0 {
            let mut conn = match diesel::PgConnection::establish(&url) {
                Ok(c) => c,
                Err(e) => {
                    log::warn!("change feed listener: {e}");
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    continue;
                }
            };
            if conn.batch_execute(&format!("LISTEN {CHANNEL}")).is_err() {
                std::thread::sleep(std::time::Duration::from_secs(1));
                continue;
            }
            loop {
                let Some(wake) = wake.upgrade() else { return };
                // Reads what has already arrived on the socket, without a round trip.
                let (mut arrived, mut broken) = (false, false);
                for n in conn.notifications_iter() {
                    match n {
                        Ok(_) => arrived = true,
                        Err(_) => {
                            broken = true;
                            break;
                        }
                    }
                }
                if arrived {
                    wake.notify_one();
                }
                if broken {
                    break;
                }
                drop(wake);
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    });
}

/// Keeps this instance's view of ended sessions and role changes current with what
/// other instances wrote (at once on a PostgreSQL notification, and twice a second in
/// any case), and prunes the view now and then (old feed rows go with `retention`). A
/// database outage only delays it. Runs for the life of the server.
pub async fn follow(
    db: std::sync::Arc<crate::db::Db>,
    view: std::sync::Arc<Revocations>,
    clock: std::sync::Arc<crate::clock::Clock>,
) {
    let wake = std::sync::Arc::new(tokio::sync::Notify::new());
    if let crate::db::DatabaseUrl::Postgres(url) = db.url() {
        listen(url.clone(), std::sync::Arc::downgrade(&wake));
    }
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
    let mut since = clock.now() - OVERLAP;
    for round in 1u64.. {
        // A notification (PostgreSQL) or the half-second catch-up, whichever comes first.
        tokio::select! {
            _ = tick.tick() => {}
            _ = wake.notified() => {}
        }
        let started = clock.now();
        let v = view.clone();
        match db.run_background(move |c| catch_up(c, &v, since)).await {
            Ok(_) => since = started - OVERLAP,
            Err(e) => log::warn!("change feed: {e}"),
        }
        if round % 120 == 0 {
            view.prune(clock.now());
        }
    }
}
