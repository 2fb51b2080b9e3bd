//! Password hashing with bcrypt, off the async workers and bounded.
//!
//! bcrypt reads at most 72 bytes, so the password is first condensed with HMAC-SHA256
//! and base64 (44 bytes): every character of a long password counts.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use rocket::tokio::sync::Semaphore;
use sha2::Sha256;

use crate::error::{Error, Result};

/// A fixed, public key: the pre-hash is about length, not secrecy.
const PREHASH_KEY: &[u8] = b"gatehouse/password/v1";

pub fn prehash(password: &str) -> String {
    #[allow(clippy::expect_used)] // allow: HMAC accepts keys of any length
    let mut mac = Hmac::<Sha256>::new_from_slice(PREHASH_KEY).expect("HMAC takes any key length"); // allow: any key length
    mac.update(password.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Hashes synchronously (command line, start-up).
pub fn hash_blocking(password: &str, cost: u32) -> Result<String> {
    bcrypt::hash(prehash(password), cost).map_err(|e| Error::Internal(format!("bcrypt: {e}")))
}

pub fn verify_blocking(password: &str, hash: &str) -> bool {
    bcrypt::verify(prehash(password), hash).unwrap_or(false)
}

/// Which hashing work goes first when the workers are busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Someone is signing in (or confirming it is them): never starved.
    SignIn,
    /// Sign-ups, new passwords, accounts made by administrators: they may use every
    /// worker but one.
    Other,
}

/// The cost a bcrypt hash was made at (`$2b$12$…` → 12).
pub fn cost_of(hash: &str) -> Option<u32> {
    hash.split('$').nth(2)?.parse().ok()
}

pub struct PasswordHasher {
    cost: u32,
    permits: Arc<Semaphore>,
    /// Held by `Priority::Other` work before a worker: one fewer than the workers, so a
    /// sign-in always finds a worker that only sign-ins are waiting for.
    others: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// Verified against when the account does not exist, so that the answer takes as long
    /// (made at the configured cost).
    dummy_hash: String,
    verifications: AtomicU64,
    mismatches: AtomicU64,
}

impl PasswordHasher {
    pub fn new(cost: u32, workers: usize, max_waiting: usize) -> Result<Self> {
        let workers = workers.max(1);
        Ok(PasswordHasher {
            cost,
            permits: Arc::new(Semaphore::new(workers)),
            others: Arc::new(Semaphore::new((workers - 1).max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
            dummy_hash: hash_blocking(&crate::random::token::<16>()?, cost)?,
            verifications: AtomicU64::new(0),
            mismatches: AtomicU64::new(0),
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

    /// Runs `f` on the blocking pool once a worker is free; refuses with "busy" when too
    /// many are already waiting rather than queueing without bound.
    async fn run<T: Send + 'static>(
        &self,
        priority: Priority,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::Busy("password hashing queue is full"));
        }
        let guard = Waiting(&self.waiting);
        let stopped = |_| Error::Busy("password hashing stopped");
        let gate = match priority {
            Priority::SignIn => None,
            Priority::Other => Some(self.others.clone().acquire_owned().await.map_err(stopped)?),
        };
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(stopped)?;
        drop(guard);
        rocket::tokio::task::spawn_blocking(move || {
            let out = f();
            drop(permit);
            drop(gate);
            out
        })
        .await
        .map_err(|e| Error::Internal(format!("hashing task failed: {e}")))
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
    /// account, so that both cases cost one bcrypt verify.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool> {
        let exists = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        let ok = self
            .run(Priority::SignIn, move || verify_blocking(&password, &hash))
            .await?;
        self.verifications.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.mismatches.fetch_add(1, Ordering::Relaxed);
        }
        Ok(ok && exists)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::tokio;

    #[test]
    fn the_cost_is_read_from_the_hash() -> Result<()> {
        let hash = hash_blocking("a password", 5)?;
        assert_eq!(cost_of(&hash), Some(5));
        assert_eq!(cost_of("not a hash"), None);
        Ok(())
    }

    #[test]
    fn sign_ins_are_not_starved_by_other_hashing() -> Result<()> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(e.to_string()))?
            .block_on(sign_ins_first())
    }

    async fn sign_ins_first() -> Result<()> {
        let hasher = Arc::new(PasswordHasher::new(4, 2, 16)?);
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
        let started = Arc::new(AtomicUsize::new(0));
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
}
