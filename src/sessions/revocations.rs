//! An in-memory view of sessions that ended recently, so that the access-token guard
//! can refuse a token whose session is over without asking the database.
//!
//! An entry is only needed while an access token issued before the session ended could
//! still be valid: its lifetime plus the leeway. Older entries are pruned, which bounds
//! the map by the number of sessions ended within one access-token lifetime.

use std::collections::HashMap;
use std::sync::RwLock;

pub struct Revocations {
    ended: RwLock<HashMap<String, i64>>,
    keep_for: i64,
}

impl Revocations {
    pub fn new(access_ttl: i64) -> Self {
        Revocations {
            ended: RwLock::new(HashMap::new()),
            keep_for: access_ttl + crate::sessions::tokens::LEEWAY as i64 + 1,
        }
    }

    /// How far back start-up must load ended sessions.
    pub fn window(&self) -> i64 {
        self.keep_for
    }

    pub fn end_session(&self, sid: &str, at: i64) {
        let mut map = self.ended.write().unwrap_or_else(|e| e.into_inner());
        map.insert(sid.to_string(), at);
        if map.len().is_multiple_of(1024) {
            let keep_for = self.keep_for;
            map.retain(|_, ended_at| *ended_at + keep_for > at);
        }
    }

    pub fn is_ended(&self, sid: &str) -> bool {
        self.ended
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(sid)
    }

    pub fn prune(&self, now: i64) {
        let keep_for = self.keep_for;
        self.ended
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, ended_at| *ended_at + keep_for > now);
    }

    pub fn len(&self) -> usize {
        self.ended.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
