//! Password hashing with bcrypt, off the async workers and bounded: threads of its own,
//! at a lower scheduling priority than the request workers, taking work lane by lane (the
//! account's owner, sign-ins, other work), each piece refused when it waited too long.
//!
//! bcrypt reads at most 72 bytes, so the password is first condensed with HMAC-SHA256
//! and base64 (44 bytes): every character of a long password counts.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use tokio::sync::oneshot;

use crate::clock::Clock;
use crate::error::{Error, Result};

/// A fixed, public key: the pre-hash is about length, not secrecy.
const PREHASH_KEY: &[u8] = b"gatehouse/password/v1";

pub fn prehash(password: &str) -> String {
    STANDARD.encode(crate::signer::hmac_sha256(PREHASH_KEY, password.as_bytes()))
}

/// Hashes synchronously (command line, start-up).
pub fn hash_blocking(password: &str, cost: u32) -> Result<String> {
    bcrypt::hash(prehash(password), cost).map_err(|e| Error::Internal(format!("bcrypt: {e}")))
}

pub fn verify_blocking(password: &str, hash: &str) -> bool {
    bcrypt::verify(prehash(password), hash).unwrap_or(false)
}

/// Which hashing work goes first when the workers are busy: a lane each, served in this
/// order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// The account's own: a browser with a valid known-device cookie for it, or its live
    /// session ("confirm it's you", the current password). Ahead of strangers' attempts,
    /// however many of those are queued.
    Owner,
    /// Someone is signing in (or confirming it is them): never starved by other work.
    SignIn,
    /// Sign-ups, new passwords, accounts made by administrators: they may use every
    /// worker but one.
    Other,
}

const LANES: [Priority; 3] = [Priority::Owner, Priority::SignIn, Priority::Other];

/// The cost a bcrypt hash was made at (`$2b$12$…` → 12).
pub fn cost_of(hash: &str) -> Option<u32> {
    hash.split('$').nth(2)?.parse().ok()
}

/// How the hashing pool is sized and bounded (from settings).
pub struct Pool {
    /// Hashing threads (one per core by default).
    pub workers: usize,
    /// Work that may wait for a thread; beyond it, "busy" at once.
    pub max_waiting: usize,
    /// How long work may wait for a thread; after that it is refused ("busy") rather than
    /// done late, when nobody is waiting for its answer any more.
    pub max_wait: Duration,
    /// The application's clock: waits are measured on it (tests move it forward).
    pub clock: Arc<Clock>,
}

type Work = Box<dyn FnOnce() + Send>;

struct Job {
    id: u64,
    /// When it has waited too long (on the application's clock).
    due: Instant,
    work: Work,
}

#[derive(Default)]
struct Queue {
    lanes: [VecDeque<Job>; 3],
    next_id: u64,
    /// `Priority::Other` work running now.
    others_running: usize,
    /// Test hook: no work is started while paused, except `passes` pieces.
    paused: bool,
    passes: usize,
    stopped: bool,
}

impl Queue {
    fn waiting(&self) -> usize {
        self.lanes.iter().map(VecDeque::len).sum()
    }

    /// The next job a free thread takes: the first lane with work it may start; work that
    /// waited past its due time is dropped (its waiter is answered "busy").
    fn next(&mut self, now: Instant, others_max: usize) -> Option<(Job, Priority)> {
        if self.paused && self.passes == 0 {
            return None;
        }
        for lane in LANES {
            if lane == Priority::Other && self.others_running >= others_max {
                continue;
            }
            while let Some(job) = self.lanes[lane as usize].pop_front() {
                if job.due < now {
                    continue;
                }
                if self.paused {
                    self.passes -= 1;
                }
                if lane == Priority::Other {
                    self.others_running += 1;
                }
                return Some((job, lane));
            }
        }
        None
    }
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    clock: Arc<Clock>,
    max_waiting: usize,
    /// One fewer than the threads: a sign-in always finds a thread that only sign-ins
    /// (and owners) are waiting for.
    others_max: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One hashing thread: at a lower scheduling priority than the request workers (so that
/// pages are served first while bcrypt keeps every core busy), taking work lane by lane.
fn hashing_thread(shared: Arc<Shared>) {
    lower_priority();
    loop {
        let (job, lane) = {
            let mut q = shared.lock();
            loop {
                if q.stopped {
                    return;
                }
                if let Some(found) = q.next(shared.clock.instant(), shared.others_max) {
                    break found;
                }
                q = shared.ready.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        // A panic in one piece of work (none is expected) costs that answer, not the thread.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job.work));
        if lane == Priority::Other {
            shared.lock().others_running -= 1;
            shared.ready.notify_all();
        }
    }
}

/// Lowers the calling thread's scheduling priority: `SCHED_BATCH` (the scheduler treats
/// it as CPU-bound and does not let it preempt others on wake-up) and the lowest nice
/// value, 19. Linux only; elsewhere the threads keep the normal priority. Failing (a
/// sandbox that forbids it) is harmless.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: both calls only read their arguments (a valid `sched_param` on the
        // stack) and change the scheduling of the calling thread (id 0 = the caller).
        let (batch, nice) = unsafe {
            (
                libc::sched_setscheduler(0, libc::SCHED_BATCH, &param),
                libc::setpriority(libc::PRIO_PROCESS, 0, 19),
            )
        };
        if batch != 0 || nice != 0 {
            log::warn!(
                "password hashing threads keep the normal scheduling priority: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// A job queued by `run`, taken out of the queue again when its waiter stops waiting
/// (its deadline, or the request was dropped) before a thread took it.
struct Queued<'a> {
    shared: &'a Shared,
    lane: Priority,
    id: u64,
}

impl Queued<'_> {
    /// Takes the job out if no thread has taken it yet; whether it did.
    fn cancel(&self) -> bool {
        let mut q = self.shared.lock();
        let lane = &mut q.lanes[self.lane as usize];
        let before = lane.len();
        lane.retain(|j| j.id != self.id);
        lane.len() != before
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.cancel();
    }
}

pub struct PasswordHasher {
    cost: u32,
    shared: Arc<Shared>,
    max_wait: Duration,
    /// Verified against when the account does not exist, so that the answer takes as long
    /// (made at the configured cost).
    dummy_hash: String,
    verifications: AtomicU64,
    mismatches: AtomicU64,
    /// Work refused because it waited longer than `max_wait` for a thread.
    too_late: AtomicU64,
}

const TOO_LATE: &str = "waited too long for a password hashing worker";

impl PasswordHasher {
    /// Starts the hashing threads.
    pub fn new(cost: u32, pool: Pool) -> Result<Self> {
        let workers = pool.workers.max(1);
        let shared = Arc::new(Shared {
            queue: Mutex::default(),
            ready: Condvar::new(),
            clock: pool.clock,
            max_waiting: pool.max_waiting,
            others_max: (workers - 1).max(1),
        });
        for i in 0..workers {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("gatehouse-hash-{i}"))
                .spawn(move || hashing_thread(shared))
                .map_err(|e| Error::Internal(format!("cannot start a hashing thread: {e}")))?;
        }
        Ok(PasswordHasher {
            cost,
            shared,
            max_wait: pool.max_wait,
            dummy_hash: hash_blocking(&crate::random::token::<16>()?, cost)?,
            verifications: AtomicU64::new(0),
            mismatches: AtomicU64::new(0),
            too_late: AtomicU64::new(0),
        })
    }

    /// Whether a stored hash was made at another cost than the configured one (it is
    /// replaced at the next successful sign-in).
    pub fn needs_rehash(&self, hash: &str) -> bool {
        cost_of(hash) != Some(self.cost)
    }

    /// Passwords verified so far, and how many of them did not match.
    pub fn verifications(&self) -> (u64, u64) {
        (
            self.verifications.load(Ordering::Relaxed),
            self.mismatches.load(Ordering::Relaxed),
        )
    }

    /// Work refused so far because it waited longer than `hash_wait` for a thread.
    pub fn too_late(&self) -> u64 {
        self.too_late.load(Ordering::Relaxed)
    }

    /// Work waiting for a thread now.
    pub fn waiting(&self) -> usize {
        self.shared.lock().waiting()
    }

    /// Test hook: start no more work until `resume` (work already running finishes).
    #[doc(hidden)]
    pub fn pause(&self) {
        let mut q = self.shared.lock();
        q.paused = true;
        q.passes = 0;
    }

    /// Test hook: while paused, let the next piece of work (by lane) start.
    #[doc(hidden)]
    pub fn let_one_through(&self) {
        self.shared.lock().passes += 1;
        self.shared.ready.notify_all();
    }

    #[doc(hidden)]
    pub fn resume(&self) {
        self.shared.lock().paused = false;
        self.shared.ready.notify_all();
    }

    /// Runs `f` on a hashing thread once one is free, in `priority`'s lane; refuses with
    /// "busy" when too many are already waiting rather than queueing without bound, and
    /// when it waited longer than `max_wait` for a thread (the answer would come late).
    async fn run<T: Send + 'static>(
        &self,
        priority: Priority,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let (tx, mut rx) = oneshot::channel();
        let due = self.shared.clock.instant() + self.max_wait;
        let id = {
            let mut q = self.shared.lock();
            if q.stopped {
                return Err(Error::Busy("password hashing stopped"));
            }
            if q.waiting() >= self.shared.max_waiting {
                return Err(Error::Busy("password hashing queue is full"));
            }
            let id = q.next_id;
            q.next_id += 1;
            let work: Work = Box::new(move || {
                let _ = tx.send(f());
            });
            q.lanes[priority as usize].push_back(Job { id, due, work });
            id
        };
        self.shared.ready.notify_all();
        let queued = Queued {
            shared: &self.shared,
            lane: priority,
            id,
        };
        let late = || {
            self.too_late.fetch_add(1, Ordering::Relaxed);
            Error::Busy(TOO_LATE)
        };
        match tokio::time::timeout(self.max_wait, &mut rx).await {
            Ok(Ok(out)) => return Ok(out),
            // Dropped unstarted: a thread found it past its due time.
            Ok(Err(_)) => return Err(late()),
            Err(_) if queued.cancel() => return Err(late()),
            // A thread took it just now: it finishes.
            Err(_) => {}
        }
        rx.await.map_err(|_| late())
    }

    /// Hashes a new password at the configured cost.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.hash_with(Priority::Other, password).await
    }

    pub async fn hash_with(&self, priority: Priority, password: String) -> Result<String> {
        let cost = self.cost;
        self.run(priority, move || hash_blocking(&password, cost))
            .await?
    }

    /// Verifies `password` against `hash`, or against a dummy hash when there is no
    /// account, so that both cases cost one bcrypt verify; in `priority`'s lane
    /// (`Owner` or `SignIn`).
    pub async fn verify(
        &self,
        priority: Priority,
        password: String,
        hash: Option<String>,
    ) -> Result<bool> {
        let exists = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        let ok = self
            .run(priority, move || verify_blocking(&password, &hash))
            .await?;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.mismatches.fetch_add(1, Ordering::Relaxed);
        }
        Ok(ok && exists)
    }
}

impl Drop for PasswordHasher {
    /// Stops the threads (queued work is dropped; its waiters are answered "busy").
    fn drop(&mut self) {
        let mut q = self.shared.lock();
        q.stopped = true;
        q.lanes.iter_mut().for_each(VecDeque::clear);
        drop(q);
        self.shared.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_is_read_from_the_hash() -> Result<()> {
        let hash = hash_blocking("a password", 5)?;
        assert_eq!(cost_of(&hash), Some(5));
        assert_eq!(cost_of("not a hash"), None);
        Ok(())
    }

    fn block_on<F: std::future::Future<Output = Result<()>>>(f: F) -> Result<()> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?
            .block_on(f)
    }

    fn hasher(workers: usize, clock: Arc<Clock>) -> Result<Arc<PasswordHasher>> {
        Ok(Arc::new(PasswordHasher::new(
            4,
            Pool {
                workers,
                max_waiting: 16,
                max_wait: Duration::from_secs(2),
                clock,
            },
        )?))
    }

    async fn until_waiting(h: &PasswordHasher, n: usize) {
        while h.waiting() < n {
            tokio::task::yield_now().await;
        }
    }

    #[test]
    fn sign_ins_are_not_starved_by_other_hashing() -> Result<()> {
        block_on(sign_ins_first())
    }

    async fn sign_ins_first() -> Result<()> {
        let hasher = hasher(2, Arc::default())?;
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        // Two slow sign-ups: the first takes a worker, the second must wait at the gate.
        let mut others = Vec::new();
        for _ in 0..2 {
            let (h, rx, started) = (hasher.clone(), release_rx.clone(), started.clone());
            others.push(tokio::spawn(async move {
                h.run(Priority::Other, move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    let _ = rx.lock().map(|r| r.recv());
                })
                .await
            }));
        }
        while started.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // A sign-in gets the other worker at once, while the second sign-up still waits.
        let signed_in = hasher.run(Priority::SignIn, || "verified").await?;
        assert_eq!(signed_in, "verified");
        assert_eq!(
            started.load(Ordering::SeqCst),
            1,
            "the second sign-up waits"
        );
        for _ in 0..2 {
            let _ = release_tx.send(());
        }
        for o in others {
            o.await.map_err(|e| Error::Internal(e.to_string()))??;
        }
        assert_eq!(started.load(Ordering::SeqCst), 2);
        Ok(())
    }

    #[test]
    fn the_owners_lane_goes_first_then_sign_ins_then_other_work() -> Result<()> {
        block_on(async {
            let hasher = hasher(1, Arc::default())?;
            let order = Arc::new(std::sync::Mutex::new(Vec::new()));
            hasher.pause();
            let mut jobs = Vec::new();
            for (i, lane) in [
                Priority::Other,
                Priority::SignIn,
                Priority::SignIn,
                Priority::Owner,
            ]
            .into_iter()
            .enumerate()
            {
                let (h, order) = (hasher.clone(), order.clone());
                jobs.push(tokio::spawn(async move {
                    h.run(lane, move || {
                        if let Ok(mut o) = order.lock() {
                            o.push(i);
                        }
                    })
                    .await
                }));
                until_waiting(&hasher, i + 1).await;
            }
            hasher.resume();
            for j in jobs {
                j.await.map_err(|e| Error::Internal(e.to_string()))??;
            }
            let order = order.lock().map(|o| o.clone()).unwrap_or_default();
            assert_eq!(order, vec![3, 1, 2, 0]);
            Ok(())
        })
    }

    #[test]
    fn work_that_waited_past_its_deadline_is_refused_not_done() -> Result<()> {
        block_on(async {
            let clock = Arc::new(Clock::default());
            let hasher = hasher(1, clock.clone())?;
            let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
            hasher.pause();
            let (h, d) = (hasher.clone(), done.clone());
            let late = tokio::spawn(async move {
                h.run(Priority::SignIn, move || d.store(true, Ordering::SeqCst))
                    .await
            });
            until_waiting(&hasher, 1).await;
            clock.advance(3);
            hasher.resume();
            let out = late.await.map_err(|e| Error::Internal(e.to_string()))?;
            assert!(matches!(out, Err(Error::Busy(TOO_LATE))), "{out:?}");
            assert!(!done.load(Ordering::SeqCst), "not verified late");
            assert_eq!(hasher.too_late(), 1);
            // Work that did not wait as long goes ahead.
            assert_eq!(hasher.run(Priority::SignIn, || 7).await?, 7);
            Ok(())
        })
    }
}
