//! First run: the one-time setup token whose holder creates the first administrator.
//! It lives in the memory of the instance that printed it.

use std::sync::Mutex;

use super::password;

/// How long a setup link works.
pub const SETUP_TTL: i64 = 30 * 60;

/// The one-time token, kept as a hash; used once.
#[derive(Default)]
pub struct SetupToken(Mutex<Option<(String, i64)>>);

impl SetupToken {
    /// Makes a new token, replacing any earlier one, and returns it.
    pub fn issue(&self, now: i64) -> crate::error::Result<String> {
        let token = crate::random::token::<32>()?;
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((password::prehash(&token), now + SETUP_TTL));
        Ok(token)
    }

    pub fn is_valid(&self, token: &str, now: i64) -> bool {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        matches!(&*guard, Some((hash, expires)) if now < *expires && *hash == password::prehash(token))
    }

    /// Whether a token was issued and not yet used (it may have expired).
    pub fn is_offered(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// Uses the token up; true if it was valid.
    pub fn consume(&self, token: &str, now: i64) -> bool {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let valid = matches!(&*guard, Some((hash, expires)) if now < *expires && *hash == password::prehash(token));
        if valid {
            *guard = None;
        }
        valid
    }
}
