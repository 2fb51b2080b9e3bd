//! Throttling of failed sign-ins per username, in the database (every instance shares
//! one count). Unknown usernames are counted exactly like real ones, so a lockout tells
//! nothing about whether an account exists.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use ipnet::Ipv6Net;
use quick_cache::sync::{Cache, DefaultLifecycle, EntryAction, EntryResult};
use quick_cache::UnitWeighter;

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

/// The row of `key`, made if missing and locked until the transaction ends (PostgreSQL;
/// SQLite's immediate transaction already keeps other writers out).
fn load_locked(conn: &mut DbConn, key: &str, now: i64) -> Result<Attempts> {
    let fresh = Attempts {
        username_key: key.to_string(),
        consecutive: 0,
        locked_until: None,
        hour_start: now,
        hour_failures: 0,
    };
    // ON CONFLICT exists on both databases but not on the combined backend: run the
    // same statement on whichever connection this is.
    crate::on_backend!(&mut *conn, |c| diesel::insert_into(login_attempts::table)
        .values(&fresh)
        .on_conflict_do_nothing()
        .execute(c))?;
    let query = login_attempts::table.find(key);
    Ok(match conn {
        DbConn::Pg(c) => query.select(Attempts::as_select()).for_update().first(c)?,
        DbConn::Sqlite(c) => query.select(Attempts::as_select()).first(c)?,
    })
}

fn save(conn: &mut DbConn, a: &Attempts) -> Result<()> {
    diesel::update(login_attempts::table.find(&a.username_key))
        .set((
            login_attempts::consecutive.eq(a.consecutive),
            login_attempts::locked_until.eq(a.locked_until),
            login_attempts::hour_start.eq(a.hour_start),
            login_attempts::hour_failures.eq(a.hour_failures),
        ))
        .execute(conn)?;
    Ok(())
}

fn wait_of(a: &Attempts, limits: &Limits, now: i64) -> Option<i64> {
    let lock = a.locked_until.filter(|t| *t > now).map(|t| t - now);
    let hour = (a.hour_failures >= limits.per_hour && now < a.hour_start + 3600)
        .then(|| a.hour_start + 3600 - now);
    lock.max(hour)
}

/// Seconds to wait before `key` may try again, if it must.
pub fn wait(conn: &mut DbConn, key: &str, limits: &Limits, now: i64) -> Result<Option<i64>> {
    Ok(load(conn, &username_key(key))?.and_then(|a| wait_of(&a, limits, now)))
}

/// Whether an attempt may go ahead.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// Counted (as a failure until `succeeded` refunds it); `locked_for` when this
    /// attempt reached the threshold and started a wait of so many seconds.
    Admitted { locked_for: Option<i64> },
    /// Refused before any password is checked: wait so many seconds.
    Wait(i64),
}

/// Admits an attempt for `key` (a username, or a username and a known device) before its
/// password is checked, atomically with the check: when the key must wait, refuses;
/// otherwise counts the attempt as a failure at once (so that parallel guesses are all
/// counted) and starts a wait when it reaches the threshold. Call inside a write
/// transaction; `succeeded` refunds a correct one.
pub fn admit(conn: &mut DbConn, key: &str, limits: &Limits, now: i64) -> Result<Admission> {
    let mut a = load_locked(conn, &username_key(key), now)?;
    if let Some(wait) = wait_of(&a, limits, now) {
        return Ok(Admission::Wait(wait));
    }
    let locked_for = count(&mut a, limits, now);
    save(conn, &a)?;
    Ok(Admission::Admitted { locked_for })
}

/// Counts a failure of `key` that was admitted under another key (a wrong password in a
/// live session counts for the account's name too), even while `key` waits, which
/// prolongs its wait. Returns the wait it started, if it did. Call inside a write
/// transaction.
pub fn charge(conn: &mut DbConn, key: &str, limits: &Limits, now: i64) -> Result<Option<i64>> {
    let mut a = load_locked(conn, &username_key(key), now)?;
    let running = a.locked_until.filter(|t| *t > now);
    let locked_for = count(&mut a, limits, now);
    a.locked_until = a.locked_until.max(running);
    save(conn, &a)?;
    Ok(locked_for)
}

/// Counts one failure in `a`; starts a wait (returned) when the run reaches the threshold.
fn count(a: &mut Attempts, limits: &Limits, now: i64) -> Option<i64> {
    if now >= a.hour_start + 3600 {
        a.hour_start = now;
        a.hour_failures = 0;
    }
    a.consecutive += 1;
    a.hour_failures += 1;
    if a.consecutive < limits.lockout_after {
        return None;
    }
    let doublings = (a.consecutive - limits.lockout_after).min(20) as u32;
    let wait = limits
        .base_wait
        .saturating_mul(1_i64 << doublings)
        .min(limits.max_wait);
    a.locked_until = Some(now + wait);
    Some(wait)
}

/// The admitted attempt was right: refunds its count. When no other attempt for the same
/// name is in flight, the run of failures ends too; otherwise the failures counted for
/// those stay, so that a success cannot reopen the door to guesses made alongside it (the
/// next failure waits again). The hourly count keeps the failures.
///
/// A correct attempt never leaves a wait behind: a wait running when it was admitted
/// would have refused it, and while a wait runs no other attempt is admitted; so the wait
/// in place now is the one this attempt's own admission started, and it ends. (Else the
/// owner's right password, admitted after a stranger's run of five, would start the next
/// wait for the owner's own second step.) Call inside a write transaction.
pub fn succeeded(conn: &mut DbConn, key: &str, others_in_flight: bool, now: i64) -> Result<()> {
    let mut a = load_locked(conn, &username_key(key), now)?;
    a.hour_failures = (a.hour_failures - 1).max(0);
    a.consecutive = if others_in_flight {
        (a.consecutive - 1).max(0)
    } else {
        0
    };
    a.locked_until = None;
    save(conn, &a)
}

/// Takes back the count of an admitted attempt that was never checked; the wait its own
/// admission started (`started_wait`) ends too. Call inside a write transaction.
pub fn refund(conn: &mut DbConn, key: &str, started_wait: bool, now: i64) -> Result<()> {
    let mut a = load_locked(conn, &username_key(key), now)?;
    a.hour_failures = (a.hour_failures - 1).max(0);
    a.consecutive = (a.consecutive - 1).max(0);
    if started_wait {
        a.locked_until = None;
    }
    save(conn, &a)
}

/// Forgets all failures of a username (an administrator's unlock or password reset).
/// Returns how many failures in a row there were.
pub fn clear(conn: &mut DbConn, key: &str) -> Result<i32> {
    let before = load(conn, key)?.map(|a| a.consecutive).unwrap_or(0);
    diesel::delete(login_attempts::table.find(key)).execute(conn)?;
    Ok(before)
}

/// Deletes up to `limit` failure counts that no longer matter: their hour window is over
/// (a failure now would start a new one) and so is any wait. Returns how many. (The run
/// of failures in a row goes with them: a name left alone for an hour starts again at
/// `lockout_after` free tries, still within `per_hour`.)
pub fn prune(conn: &mut DbConn, now: i64, limit: i64) -> Result<usize> {
    let keys: Vec<String> = login_attempts::table
        .filter(login_attempts::hour_start.le(now - 3600))
        .filter(
            login_attempts::locked_until
                .is_null()
                .or(login_attempts::locked_until.le(now)),
        )
        .select(login_attempts::username_key)
        .limit(limit)
        .load(conn)?;
    Ok(
        diesel::delete(login_attempts::table.filter(login_attempts::username_key.eq_any(&keys)))
            .execute(conn)?,
    )
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

/// The key every per-address limit counts a client address under: an IPv4 address as it
/// is, an IPv6 address by its /64 (one subscriber's network: a client picks any address
/// inside it for free, so counting them apart would make one client many). An
/// IPv4-mapped IPv6 address counts as its IPv4 address; text that is no address (the
/// "unknown" of a request without a peer) is its own key.
pub fn address_limit_key(address: &str) -> String {
    match address.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => Ipv6Net::new(v6, 64)
            .map(|net| net.trunc().to_string())
            .unwrap_or_else(|_| v6.to_string()),
        Err(_) => address.to_string(),
    }
}

/// Attempts per client address (by `address_limit_key`) within a sliding window, in
/// memory: a slot is taken before the password is checked and given back when it was
/// right, so parallel attempts are all counted; at most `max` instants per key.
///
/// The keys live in a bounded cache (`quick_cache`, scan resistant: a key seen once, as
/// each of a flood of new addresses is, leaves first, while a key seen again, as a
/// limited one is, stays), so that memory stays bounded and evictions are gradual, one
/// at a time, never a sweep of every key. Each key's instants change under its shard's
/// lock, atomically with the check.
pub struct WindowLimiter {
    max: usize,
    window: Duration,
    keys: Cache<String, VecDeque<Instant>, UnitWeighter, foldhash::fast::RandomState>,
}

/// A slot taken by `WindowLimiter::take`, to give back with `refund`.
#[derive(Debug)]
pub struct Slot {
    key: String,
    at: Instant,
}

/// The keys a limiter keeps (about; the least used go first).
const WINDOW_KEYS: usize = 100_000;

impl WindowLimiter {
    pub fn new(max: u32, window_secs: u64) -> WindowLimiter {
        WindowLimiter::with_capacity(max, window_secs, WINDOW_KEYS)
    }

    fn with_capacity(max: u32, window_secs: u64, keys: usize) -> WindowLimiter {
        WindowLimiter {
            max: max.max(1) as usize,
            window: Duration::from_secs(window_secs.max(1)),
            keys: Cache::with(
                keys,
                keys as u64,
                UnitWeighter,
                foldhash::fast::RandomState::default(),
                DefaultLifecycle::default(),
            ),
        }
    }

    /// Runs `f` on the instants of `key` still inside the window (older ones dropped; an
    /// empty list for a key not kept, which is kept from then on when `f` leaves an
    /// instant in it), atomically for that key.
    fn with_key<T>(&self, key: &str, now: Instant, f: impl Fn(&mut VecDeque<Instant>) -> T) -> T {
        let window = self.window;
        let found = self.keys.entry(key, None, |_, q| {
            while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
                q.pop_front();
            }
            EntryAction::Retain(f(q))
        });
        match found {
            EntryResult::Retained(t) => t,
            EntryResult::Vacant(guard) => {
                let mut q = VecDeque::new();
                let t = f(&mut q);
                if !q.is_empty() {
                    let _ = guard.insert(q);
                }
                t
            }
            // The callback only retains and nothing waits with a timeout, so these do not
            // happen; were one to, the key would start again from an empty list.
            EntryResult::Removed(..) | EntryResult::Replaced(..) | EntryResult::Timeout => {
                f(&mut VecDeque::new())
            }
        }
    }

    fn wait_in(&self, q: &VecDeque<Instant>, now: Instant) -> Option<i64> {
        if q.len() < self.max {
            return None;
        }
        let oldest = *q.front()?;
        let left = (oldest + self.window).saturating_duration_since(now);
        Some(left.as_secs() as i64 + 1)
    }

    /// Takes a slot for `address`, or says how many seconds to wait.
    pub fn take(&self, address: &str) -> Result<Slot, i64> {
        let (key, now) = (address_limit_key(address), Instant::now());
        self.with_key(&key, now, |q| match self.wait_in(q, now) {
            Some(wait) => Err(wait),
            None => {
                q.push_back(now);
                Ok(())
            }
        })?;
        Ok(Slot { key, at: now })
    }

    /// Gives a slot back (the attempt was right).
    pub fn refund(&self, slot: Slot) {
        self.with_key(&slot.key, Instant::now(), |q| {
            if let Some(i) = q.iter().position(|t| *t == slot.at) {
                q.remove(i);
            }
        });
    }

    /// Seconds `address` must wait before its next attempt, if it must.
    pub fn wait(&self, address: &str) -> Option<i64> {
        let (key, now) = (address_limit_key(address), Instant::now());
        self.with_key(&key, now, |q| self.wait_in(q, now))
    }

    /// Counts a failure for `address` that did not take a slot first.
    pub fn record(&self, address: &str) {
        let (key, now) = (address_limit_key(address), Instant::now());
        self.with_key(&key, now, |q| {
            if q.len() >= self.max {
                q.pop_front();
            }
            q.push_back(now);
        });
    }
}

/// Attempts in progress on this instance, per name or per client address, so that only
/// a few run at once for each: a name's (`per_name`), so that guesses at one account do
/// not run in parallel; an address's (`per_address`, by `address_limit_key`), so that one
/// client (one IPv6 /64) cannot fill the hashing queue that everyone shares.
pub struct InFlight {
    places: Arc<Mutex<HashMap<String, usize>>>,
    cap: usize,
    key_of: fn(&str) -> String,
}

/// How many sign-ins (or password checks) for one name may run at once.
pub const IN_FLIGHT_PER_NAME: usize = 2;

/// One attempt in progress; leaving (dropping it) frees the place.
pub struct InFlightGuard {
    map: Arc<Mutex<HashMap<String, usize>>>,
    key: String,
}

impl InFlight {
    /// At most `IN_FLIGHT_PER_NAME` attempts per name (case folded).
    pub fn per_name() -> InFlight {
        InFlight {
            places: Arc::default(),
            cap: IN_FLIGHT_PER_NAME,
            key_of: username_key,
        }
    }

    /// At most `cap` attempts per client address (an IPv6 address by its /64).
    pub fn per_address(cap: usize) -> InFlight {
        InFlight {
            places: Arc::default(),
            cap: cap.max(1),
            key_of: address_limit_key,
        }
    }

    /// A place for an attempt by `who` (a throttle key: the name, or the name with a known
    /// device, a live session or a pending sign-in; or a client address), unless as many
    /// as allowed are running.
    pub fn enter(&self, who: &str) -> Option<InFlightGuard> {
        let key = (self.key_of)(who);
        let mut map = self.places.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(key.clone()).or_insert(0);
        if *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(InFlightGuard {
            map: self.places.clone(),
            key,
        })
    }
}

impl InFlight {
    /// Whether any attempt under `key` is running now.
    pub fn running(&self, key: &str) -> bool {
        let map = self.places.lock().unwrap_or_else(|e| e.into_inner());
        map.contains_key(&(self.key_of)(key))
    }
}

impl InFlightGuard {
    /// Whether other attempts at the same name are running now.
    pub fn others(&self) -> bool {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&self.key).is_some_and(|n| *n > 1)
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_counts_taken_slots_and_gives_back_refunds() -> Result<(), i64> {
        let w = WindowLimiter::new(3, 600);
        let a = w.take("ip")?;
        assert!(w.take("ip").is_ok());
        assert!(w.take("ip").is_ok());
        let wait = w.take("ip").err();
        assert!(wait.is_some_and(|s| (599..=601).contains(&s)), "{wait:?}");
        assert!(w.take("other").is_ok(), "keys are separate");
        w.refund(a);
        assert!(w.take("ip").is_ok(), "a refunded slot is free again");
        assert!(w.wait("ip").is_some());
        Ok(())
    }

    /// A limited address, then 200,000 new ones each trying once (the old limiter swept
    /// its whole map under its lock for each new key once it held 100,000): the limited
    /// one is still limited, and the cache stays within its size.
    #[test]
    fn a_flood_of_new_addresses_leaves_a_limited_one_limited() {
        let flood = |w: &WindowLimiter| {
            for i in 0..200_000u32 {
                let [_, b, c, d] = i.to_be_bytes();
                assert!(w.take(&format!("10.{b}.{c}.{d}")).is_ok());
            }
        };
        for w in [
            WindowLimiter::new(3, 600),
            // A small one too, so that the flood is 200 times what it holds.
            WindowLimiter::with_capacity(3, 600, 1_000),
        ] {
            for _ in 0..3 {
                assert!(w.take("203.0.113.7").is_ok());
            }
            assert!(w.take("203.0.113.7").is_err());
            flood(&w);
            assert!(w.keys.len() as u64 <= w.keys.capacity(), "bounded");
            assert!(w.wait("203.0.113.7").is_some(), "still limited");
            assert!(w.take("203.0.113.7").is_err(), "still limited");
        }
    }

    #[test]
    fn only_a_few_attempts_per_name_run_at_once() {
        let f = InFlight::per_name();
        let a = f.enter("Alice");
        assert!(a.as_ref().is_some_and(|g| !g.others()));
        let b = f.enter("alice");
        assert!(b.is_some());
        assert!(a.as_ref().is_some_and(InFlightGuard::others));
        assert!(f.enter("ALICE").is_none(), "a third waits its turn");
        assert!(f.enter("bob").is_some());
        drop(b);
        assert!(f.enter("alice").is_some());
    }

    #[test]
    fn an_ipv6_address_counts_by_its_64() {
        let key = address_limit_key;
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:3::1"), "2001:db8:1:3::/64");
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("unknown"), "unknown");
        let w = WindowLimiter::new(1, 600);
        assert!(w.take("2001:db8:1:2::1").is_ok());
        assert!(w.take("2001:db8:1:2::99").is_err(), "the same /64");
        assert!(w.take("2001:db8:1:3::1").is_ok(), "another /64");
        let f = InFlight::per_address(1);
        let _a = f.enter("2001:db8:1:2::1");
        assert!(f.enter("2001:db8:1:2:abcd::7").is_none(), "the same /64");
        assert!(f.enter("2001:db8:1:3::1").is_some(), "another /64");
    }
}
