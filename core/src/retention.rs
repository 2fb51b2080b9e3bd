//! Nothing grows without bound: ended sessions, used refresh tokens, idle failure counts
//! (after their hour), pending second steps, passkey ceremonies, sent mail and used links are deleted, audit
//! events after `audit_retention_days`, change-feed rows after a day. Run every ten
//! minutes by the server.
//!
//! Every kind is deleted in small batches, each in a transaction of its own, with a pause
//! between them: a write waiting for the pruner waits for one batch, never for the whole
//! pass (on SQLite a write transaction keeps every other writer out).

use std::time::Duration;

use crate::accounts::throttle;
use crate::db::{write_tx, DbConn};
use crate::error::Result;
use crate::sessions::{feed, store};

/// How long things are kept, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub data: i64,
    pub audit: i64,
}

/// What one pass deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: usize,
    pub refresh_tokens: usize,
    pub failure_counts: usize,
    pub audit_events: usize,
    pub pending_sign_ins: usize,
    /// Passkey ceremonies that expired unfinished.
    pub passkey_ceremonies: usize,
    pub mail: usize,
    pub feed_rows: usize,
    /// OpenID Connect codes (an hour after they expired: until then a second use is
    /// still known, and revokes) and revoked grants.
    pub oidc: usize,
    /// Transactions it took.
    pub batches: usize,
}

/// The size of the pieces a pass deletes in.
#[derive(Debug, Clone, Copy)]
pub struct Batches {
    /// Rows per transaction (of one kind).
    pub rows: i64,
    /// Between two transactions, so that waiting writers get their turn (SQLite's busy
    /// handler polls; a pruner that began again at once could keep them out).
    pub pause: Duration,
}

impl Default for Batches {
    /// A few milliseconds of work per transaction.
    fn default() -> Self {
        Batches {
            rows: 200,
            pause: Duration::from_millis(20),
        }
    }
}

/// Batches between two checkpoints of SQLite's write-ahead log by the pruner itself, so
/// that the log its deletions fill is copied back by this background thread, not by the
/// commit of a request that happens to cross SQLite's threshold.
const CHECKPOINT_EVERY: usize = 10;

pub fn prune(conn: &mut DbConn, now: i64, keep: &Retention) -> Result<Pruned> {
    prune_in(conn, now, keep, Batches::default())
}

/// One pass, in batches of `batches.rows`.
pub fn prune_in(conn: &mut DbConn, now: i64, keep: &Retention, batches: Batches) -> Result<Pruned> {
    let mut p = Pruned::default();
    let mut each = |conn: &mut DbConn,
                    step: &mut dyn FnMut(&mut DbConn, i64) -> Result<usize>|
     -> Result<usize> {
        let mut total = 0;
        loop {
            if p.batches > 0 && !batches.pause.is_zero() {
                std::thread::sleep(batches.pause);
            }
            let n = write_tx(conn, |c| step(c, batches.rows))?;
            if p.batches % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 1 {
                crate::db::checkpoint(conn);
            }
            p.batches += 1;
            total += n;
            if (n as i64) < batches.rows {
                return Ok(total);
            }
        }
    };
    let data = keep.data;
    let oidc = each(conn, &mut |c, n| crate::oidc::prune_codes(c, now, 3_600, n))?
        + each(conn, &mut |c, n| crate::oidc::prune_grants(c, now, data, n))?;
    // Tokens before their sessions, so that no transaction deletes a long chain at once.
    let refresh_tokens = each(conn, &mut |c, n| store::prune_tokens(c, now, data, n))?;
    let sessions = each(conn, &mut |c, n| store::prune_sessions(c, now, data, n))?;
    let failure_counts = each(conn, &mut |c, n| throttle::prune(c, now, n))?;
    let audit_events = each(conn, &mut |c, n| crate::audit::prune(c, now, keep.audit, n))?;
    let pending_sign_ins = each(conn, &mut |c, n| crate::sessions::pending::prune(c, now, n))?;
    let passkey_ceremonies = each(conn, &mut |c, n| {
        crate::second_factor::passkeys::prune(c, now, n)
    })?;
    let mail = each(conn, &mut |c, n| crate::mail::prune(c, now, data, n))?
        + each(conn, &mut |c, n| crate::mail::tokens::prune(c, now, n))?;
    let feed_rows = each(conn, &mut |c, n| feed::prune(c, now, n))?;
    Ok(Pruned {
        sessions,
        refresh_tokens,
        failure_counts,
        audit_events,
        pending_sign_ins,
        passkey_ceremonies,
        mail,
        feed_rows,
        oidc,
        batches: p.batches,
    })
}

/// How often the server prunes: often enough that rows which matter for an hour (failure
/// counts, pending second steps) do not outlive it by much.
const EVERY: u64 = 600;

/// Prunes every ten minutes (the first pass a minute after start), for the life of the
/// server.
pub async fn run(
    db: std::sync::Arc<crate::db::Db>,
    clock: std::sync::Arc<crate::clock::Clock>,
    keep: Retention,
) {
    use tokio::time::{interval_at, Duration, Instant};
    let mut every = interval_at(
        Instant::now() + Duration::from_secs(60),
        Duration::from_secs(EVERY),
    );
    loop {
        every.tick().await;
        let now = clock.now();
        match db.run_background(move |c| prune(c, now, &keep)).await {
            Ok(p) => log::info!("retention: deleted {p:?}"),
            Err(e) => log::warn!("retention: {e}"),
        }
    }
}
