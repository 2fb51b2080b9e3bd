//! An in-memory view of sessions that ended recently, so that the access-token guard
//! can refuse a token whose session is over without asking the database.
//!
//! An entry is only needed while an access token issued before the session ended could
//! still be valid: its lifetime plus the leeway. Older entries are pruned, which bounds
//! the map by the number of sessions ended within one access-token lifetime. Changes of
//! an account's role or groups are kept the same way: a token carrying another role or
//! other groups than the account's current ones is refused, and the refresh token then
//! issues one with the new claims.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::accounts::Role;
use crate::sessions::tokens::Claims;

#[derive(Default)]
struct View {
    /// Session id → when it ended.
    ended: HashMap<String, i64>,
    /// Account id → its claims now (role, and groups where known), and when they changed.
    claims: HashMap<i64, Current>,
    /// OpenID Connect grants and access tokens revoked (`oidc::grant_key`, `jti_key`) →
    /// when.
    revoked: HashMap<String, i64>,
}

#[derive(Debug, Clone)]
struct Current {
    role: Role,
    /// `None` for changes recorded before groups existed: only the role is compared.
    groups: Option<Vec<String>>,
    at: i64,
}

pub struct Revocations {
    view: RwLock<View>,
    keep_for: i64,
}

impl Revocations {
    pub fn new(access_ttl: i64) -> Self {
        Revocations {
            view: RwLock::new(View::default()),
            keep_for: access_ttl + crate::sessions::tokens::LEEWAY as i64 + 1,
        }
    }

    /// How far back start-up must load ended sessions.
    pub fn window(&self) -> i64 {
        self.keep_for
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, View> {
        self.view.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, View> {
        self.view.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn end_session(&self, sid: &str, at: i64) {
        let mut view = self.write();
        view.ended.insert(sid.to_string(), at);
        if view.ended.len().is_multiple_of(1024) {
            self.prune_view(&mut view, at);
        }
    }

    pub fn end_sessions(&self, sids: &[String], at: i64) {
        let mut view = self.write();
        for sid in sids {
            view.ended.insert(sid.clone(), at);
        }
    }

    pub fn revoke(&self, key: &str, at: i64) {
        let mut view = self.write();
        view.revoked.insert(key.to_string(), at);
        if view.revoked.len().is_multiple_of(1024) {
            self.prune_view(&mut view, at);
        }
    }

    pub fn revoke_all(&self, keys: &[String], at: i64) {
        let mut view = self.write();
        for key in keys {
            view.revoked.insert(key.clone(), at);
        }
    }

    /// Whether an OpenID Connect access token must be refused although its signature
    /// and times are good: its session ended, its grant or itself was revoked, or the
    /// account's groups changed since it was issued (when it carries them).
    pub fn refuses_access(
        &self,
        sid: &str,
        keys: [&str; 2],
        account_id: Option<i64>,
        groups: Option<&[String]>,
        issued_at: i64,
    ) -> bool {
        let view = self.read();
        if view.ended.contains_key(sid) || keys.iter().any(|k| view.revoked.contains_key(*k)) {
            return true;
        }
        match (account_id.and_then(|id| view.claims.get(&id)), groups) {
            (Some(now), Some(groups)) => {
                now.at >= issued_at && now.groups.as_ref().is_some_and(|g| g.as_slice() != groups)
            }
            _ => false,
        }
    }

    /// The account's role and groups (sorted) from `at` on.
    pub fn set_claims(&self, account_id: i64, role: Role, groups: Option<Vec<String>>, at: i64) {
        self.write()
            .claims
            .insert(account_id, Current { role, groups, at });
    }

    /// Whether an access token must be refused although its signature and times are good.
    pub fn refuses(&self, claims: &Claims) -> bool {
        let view = self.read();
        if view.ended.contains_key(&claims.sid) {
            return true;
        }
        match claims.account_id().and_then(|id| view.claims.get(&id)) {
            Some(now) => {
                now.role != claims.role || now.groups.as_ref().is_some_and(|g| *g != claims.groups)
            }
            None => false,
        }
    }

    fn prune_view(&self, view: &mut View, now: i64) {
        let keep_for = self.keep_for;
        view.ended.retain(|_, at| *at + keep_for > now);
        view.claims.retain(|_, c| c.at + keep_for > now);
        view.revoked.retain(|_, at| *at + keep_for > now);
    }

    pub fn prune(&self, now: i64) {
        let mut view = self.write();
        self.prune_view(&mut view, now);
    }

    pub fn len(&self) -> usize {
        let view = self.read();
        view.ended.len() + view.claims.len() + view.revoked.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(sid: &str, sub: &str, role: Role) -> Claims {
        Claims {
            iss: "gatehouse".into(),
            aud: "gatehouse".into(),
            sub: sub.into(),
            name: "n".into(),
            sid: sid.into(),
            role,
            iat: 0,
            nbf: 0,
            exp: 300,
            jti: "j".into(),
            pwc: false,
            tfa: false,
            groups: Vec::new(),
            email: None,
        }
    }

    #[test]
    fn ended_sessions_are_refused_until_pruned() {
        let r = Revocations::new(300);
        r.end_session("s1", 1_000);
        assert!(r.refuses(&claims("s1", "1", Role::User)));
        assert!(!r.refuses(&claims("s2", "1", Role::User)));
        // Still needed while a token issued before the end could live (300 s + leeway).
        r.prune(1_000 + 300);
        assert!(r.refuses(&claims("s1", "1", Role::User)));
        r.prune(1_000 + 300 + 6);
        assert!(!r.refuses(&claims("s1", "1", Role::User)));
        assert!(r.is_empty());
    }

    #[test]
    fn tokens_with_outdated_groups_are_refused() {
        let r = Revocations::new(300);
        r.set_claims(7, Role::User, Some(vec!["ops".into()]), 1_000);
        let mut c = claims("s", "7", Role::User);
        assert!(r.refuses(&c), "no groups in the token");
        c.groups = vec!["ops".into()];
        assert!(!r.refuses(&c));
        // A change recorded without groups compares the role only.
        r.set_claims(7, Role::User, None, 1_001);
        c.groups = vec![];
        assert!(!r.refuses(&c));
    }

    #[test]
    fn tokens_with_an_outdated_role_are_refused() {
        let r = Revocations::new(300);
        r.set_claims(7, Role::User, None, 1_000);
        assert!(r.refuses(&claims("s", "7", Role::Admin)));
        assert!(!r.refuses(&claims("s", "7", Role::User)));
        assert!(!r.refuses(&claims("s", "8", Role::Admin)));
        r.prune(2_000);
        assert!(r.is_empty());
    }

    #[test]
    fn the_view_stays_bounded_under_many_revocations() {
        let r = Revocations::new(300);
        // A million revocations spread over a day: only the last token lifetime stays.
        for i in 0..1_000_000i64 {
            r.end_session(&format!("s{i}"), i / 12);
        }
        assert!(r.len() < 10_000, "{} entries kept", r.len());
    }
}
