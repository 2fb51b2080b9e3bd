//! Password hashing with bcrypt, off the async workers and bounded.
//!
//! bcrypt reads at most 72 bytes, so the password is first condensed with HMAC-SHA256
//! and base64 (44 bytes): every character of a long password counts.

use std::sync::atomic::{AtomicUsize, Ordering};
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
    let mut mac = Hmac::<Sha256>::new_from_slice(PREHASH_KEY).expect("HMAC takes any key length");
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

pub struct PasswordHasher {
    cost: u32,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// Verified against when the account does not exist, so that the answer takes as long.
    dummy_hash: String,
}

impl PasswordHasher {
    pub fn new(cost: u32, workers: usize, max_waiting: usize) -> Result<Self> {
        Ok(PasswordHasher {
            cost,
            permits: Arc::new(Semaphore::new(workers.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
            dummy_hash: hash_blocking(&crate::random::token::<16>()?, cost)?,
        })
    }

    /// Runs `f` on the blocking pool once a worker is free; refuses with 503 when too
    /// many are already waiting rather than queueing without bound.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
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
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Busy("password hashing stopped"))?;
        drop(guard);
        rocket::tokio::task::spawn_blocking(move || {
            let out = f();
            drop(permit);
            out
        })
        .await
        .map_err(|e| Error::Internal(format!("hashing task failed: {e}")))
    }

    pub async fn hash(&self, password: String) -> Result<String> {
        let cost = self.cost;
        self.run(move || hash_blocking(&password, cost)).await?
    }

    /// Verifies `password` against `hash`, or against a dummy hash when there is no
    /// account, so that both cases cost one bcrypt verify.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool> {
        let exists = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        let ok = self.run(move || verify_blocking(&password, &hash)).await?;
        Ok(ok && exists)
    }
}
