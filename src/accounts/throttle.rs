//! Throttling of failed sign-ins per username, in the database (every instance shares
//! one count). Unknown usernames are counted exactly like real ones, so a lockout tells
//! nothing about whether an account exists.

use diesel::prelude::*;

use crate::db::schema::login_attempts;
use crate::db::DbConn;
use crate::error::Result;

use super::username_key;

/// The rules, from settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures in a row before the account must wait.
    pub lockout_after: i32,
    /// The first wait, doubled at each further failure…
    pub base_wait: i64,
    /// …up to this.
    pub max_wait: i64,
    /// Failures let through per hour, whatever the waits.
    pub per_hour: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = login_attempts)]
struct Attempts {
    username_key: String,
    consecutive: i32,
    locked_until: Option<i64>,
    hour_start: i64,
    hour_failures: i32,
}

fn load(conn: &mut DbConn, key: &str) -> Result<Option<Attempts>> {
    Ok(login_attempts::table
        .find(key)
        .select(Attempts::as_select())
        .first(conn)
        .optional()?)
}

/// Seconds to wait before `name` may try again, if it must.
pub fn wait(conn: &mut DbConn, name: &str, limits: &Limits, now: i64) -> Result<Option<i64>> {
    let Some(a) = load(conn, &username_key(name))? else {
        return Ok(None);
    };
    let lock = a.locked_until.filter(|t| *t > now).map(|t| t - now);
    let hour = (a.hour_failures >= limits.per_hour && now < a.hour_start + 3600)
        .then(|| a.hour_start + 3600 - now);
    Ok(lock.max(hour))
}

/// What a recorded failure led to.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    Counted,
    /// This failure started a wait of so many seconds.
    LockedFor(i64),
}

/// Counts one failure. Call inside a transaction.
pub fn record_failure(conn: &mut DbConn, name: &str, limits: &Limits, now: i64) -> Result<Failure> {
    let key = username_key(name);
    let mut a = load(conn, &key)?.unwrap_or(Attempts {
        username_key: key,
        consecutive: 0,
        locked_until: None,
        hour_start: now,
        hour_failures: 0,
    });
    if now >= a.hour_start + 3600 {
        a.hour_start = now;
        a.hour_failures = 0;
    }
    a.consecutive += 1;
    a.hour_failures += 1;
    let mut outcome = Failure::Counted;
    if a.consecutive >= limits.lockout_after {
        let doublings = (a.consecutive - limits.lockout_after).min(20) as u32;
        let wait = limits
            .base_wait
            .saturating_mul(1_i64 << doublings)
            .min(limits.max_wait);
        a.locked_until = Some(now + wait);
        outcome = Failure::LockedFor(wait);
    }
    // ON CONFLICT exists on both databases but not on the combined backend: run the
    // same statement on whichever connection this is.
    crate::on_backend!(conn, |c| diesel::insert_into(login_attempts::table)
        .values(&a)
        .on_conflict(login_attempts::username_key)
        .do_update()
        .set((
            login_attempts::consecutive.eq(a.consecutive),
            login_attempts::locked_until.eq(a.locked_until),
            login_attempts::hour_start.eq(a.hour_start),
            login_attempts::hour_failures.eq(a.hour_failures),
        ))
        .execute(c))?;
    Ok(outcome)
}

/// A success ends the run of failures (the hourly count stays).
pub fn record_success(conn: &mut DbConn, name: &str) -> Result<()> {
    diesel::update(login_attempts::table.find(username_key(name)))
        .set((
            login_attempts::consecutive.eq(0),
            login_attempts::locked_until.eq(None::<i64>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Forgets all failures of a username (an administrator's unlock or password reset).
/// Returns how many failures in a row there were.
pub fn clear(conn: &mut DbConn, key: &str) -> Result<i32> {
    let before = load(conn, key)?.map(|a| a.consecutive).unwrap_or(0);
    diesel::delete(login_attempts::table.find(key)).execute(conn)?;
    Ok(before)
}

/// Lock state for the admin pages: (failures in a row, locked until).
pub fn status(conn: &mut DbConn, key: &str, now: i64) -> Result<(i32, Option<i64>)> {
    Ok(load(conn, key)?
        .map(|a| (a.consecutive, a.locked_until.filter(|t| *t > now)))
        .unwrap_or((0, None)))
}

/// Lock ends for many usernames at once (one page of the admin list).
pub fn locked_until_many(
    conn: &mut DbConn,
    keys: &[String],
    now: i64,
) -> Result<Vec<(String, i64)>> {
    let rows: Vec<(String, Option<i64>)> = login_attempts::table
        .filter(login_attempts::username_key.eq_any(keys))
        .filter(login_attempts::locked_until.gt(now))
        .select((login_attempts::username_key, login_attempts::locked_until))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(k, t)| Some((k, t?)))
        .collect())
}

/// Failures per client address, in memory (a keyed GCRA limiter: a burst of `max`
/// failures, refilled at `max` per `window`). Once an address is over, its next
/// attempts are refused before any password is checked.
pub struct AddressLimiter {
    limiter: governor::DefaultKeyedRateLimiter<String>,
    blocked: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

impl AddressLimiter {
    pub fn new(max: u32, window_secs: u64) -> AddressLimiter {
        let max = max.max(1);
        let period = std::time::Duration::from_secs(window_secs.max(1)) / max;
        // The failure that finds the bucket empty sets the block, so a burst of max - 1
        // lets exactly `max` failures through before the address waits.
        let burst = std::num::NonZeroU32::new(max - 1).unwrap_or(std::num::NonZeroU32::MIN);
        let quota = governor::Quota::with_period(period)
            .unwrap_or_else(|| governor::Quota::per_second(burst))
            .allow_burst(burst);
        AddressLimiter {
            limiter: governor::RateLimiter::keyed(quota),
            blocked: Default::default(),
        }
    }

    /// Seconds the address must wait before trying again, if it must.
    pub fn wait(&self, address: &str) -> Option<i64> {
        let blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        let until = blocked.get(address)?;
        let left = until.saturating_duration_since(std::time::Instant::now());
        (!left.is_zero()).then(|| left.as_secs() as i64 + 1)
    }

    /// Counts one failure from `address`.
    pub fn record_failure(&self, address: &str) {
        use governor::clock::{Clock, DefaultClock};
        if let Err(not_until) = self.limiter.check_key(&address.to_string()) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
            let now = std::time::Instant::now();
            if blocked.len() > 100_000 {
                blocked.retain(|_, until| *until > now);
            }
            blocked.insert(address.to_string(), now + wait);
        }
    }
}
