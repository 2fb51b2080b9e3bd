//! Nothing grows without bound: ended sessions, used refresh tokens and idle failure
//! counts are deleted after `retention_days`, audit events after `audit_retention_days`,
//! change-feed rows after a day. Run hourly by the server.

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
    pub mail: usize,
    pub feed_rows: usize,
}

pub fn prune(conn: &mut DbConn, now: i64, keep: &Retention) -> Result<Pruned> {
    write_tx(conn, |c| {
        let s = store::prune(c, now, keep.data)?;
        Ok(Pruned {
            sessions: s.sessions,
            refresh_tokens: s.refresh_tokens,
            failure_counts: throttle::prune(c, now, keep.data)?,
            audit_events: crate::audit::prune(c, now, keep.audit)?,
            pending_sign_ins: crate::sessions::pending::prune(c, now)?,
            mail: crate::mail::prune(c, now, keep.data)? + crate::mail::tokens::prune(c, now)?,
            feed_rows: feed::prune(c, now)?,
        })
    })
}

/// Prunes once an hour (the first pass a minute after start), for the life of the server.
pub async fn run(
    db: std::sync::Arc<crate::db::Db>,
    clock: std::sync::Arc<crate::clock::Clock>,
    keep: Retention,
) {
    use rocket::tokio::time::{interval_at, Duration, Instant};
    let mut hourly = interval_at(
        Instant::now() + Duration::from_secs(60),
        Duration::from_secs(3600),
    );
    loop {
        hourly.tick().await;
        let now = clock.now();
        match db.run_background(move |c| prune(c, now, &keep)).await {
            Ok(p) => log::info!("retention: deleted {p:?}"),
            Err(e) => log::warn!("retention: {e}"),
        }
    }
}
