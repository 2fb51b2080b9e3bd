//! Access tokens: JWTs signed with the first configured key (HS256, EdDSA or ES256) and
//! a `kid`, verified strictly: each key verifies only with its own algorithm.

use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use quick_cache::sync::{Cache, DefaultLifecycle};
use quick_cache::UnitWeighter;
use serde::{Deserialize, Serialize};

use crate::accounts::Role;
use crate::error::{Error, Result};
pub use crate::sessions::keys::{Alg, Key};

pub const ISSUER: &str = "gatehouse";
pub const AUDIENCE: &str = "gatehouse";
/// The audience of a session that must first finish a duty (change its password, enrol a
/// second factor): only Gatehouse's own duty pages accept it; an API that checks `aud`
/// (and forward auth) treats it as not signed in.
pub const DUTY_AUDIENCE: &str = "gatehouse-duty";
/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY: u64 = 5;
/// Header parameters that would ask a verifier to trust something other than our keys.
const REFUSED_HEADERS: [&str; 5] = ["crit", "jku", "jwk", "x5u", "x5c"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub name: String,
    pub sid: String,
    pub role: Role,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// Set while the account must choose a new password before using any other page.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pwc: bool,
    /// Set while the account must enrol a second factor before using any other page.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tfa: bool,
    /// The account's groups (for the apps Gatehouse guards).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The account's verified e-mail address, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Claims {
    pub fn new(
        account_id: i64,
        name: &str,
        role: Role,
        sid: &str,
        now: i64,
        ttl: i64,
    ) -> Result<Claims> {
        Ok(Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: account_id.to_string(),
            name: name.into(),
            sid: sid.into(),
            role,
            iat: now,
            nbf: now,
            exp: now + ttl,
            jti: crate::random::token::<16>()?,
            pwc: false,
            tfa: false,
            groups: Vec::new(),
            email: None,
        })
    }

    /// Whether the session has a duty to finish before it counts as signed in anywhere
    /// but on the duty pages.
    pub fn has_duty(&self) -> bool {
        self.pwc || self.tfa
    }

    /// Marks the duties, and the audience that goes with them.
    pub fn set_duties(&mut self, must_change_password: bool, must_enrol: bool) {
        self.pwc = must_change_password;
        self.tfa = must_enrol;
        self.aud = if self.has_duty() {
            DUTY_AUDIENCE
        } else {
            AUDIENCE
        }
        .into();
    }

    pub fn account_id(&self) -> Option<i64> {
        self.sub.parse().ok()
    }

    /// Whether the token is within its lifetime at `now`, with the leeway.
    fn is_current(&self, now: i64) -> bool {
        let leeway = LEEWAY as i64;
        self.nbf <= now + leeway && now <= self.exp + leeway
    }

    /// Whether its lifetime is one this server issues (no longer than `ttl`, with the
    /// leeway): a token minted with a far `exp` is refused even under a good key.
    fn lifetime_within(&self, ttl: i64) -> bool {
        self.exp - self.iat <= ttl + LEEWAY as i64 && self.iat <= self.nbf + LEEWAY as i64
    }
}

/// The key that verifies what `k` signs.
pub fn decoding_key(k: &Key) -> DecodingKey {
    match k.alg {
        Alg::HS256 => DecodingKey::from_secret(&k.secret),
        Alg::EdDSA => DecodingKey::from_ed_der(&k.public),
        Alg::ES256 => DecodingKey::from_ec_der(&k.public),
        Alg::RS256 => DecodingKey::from_rsa_der(&k.public),
    }
}

/// The key that signs with `k`.
pub fn encoding_key(k: &Key) -> EncodingKey {
    match k.alg {
        Alg::HS256 => EncodingKey::from_secret(&k.secret),
        Alg::EdDSA => EncodingKey::from_ed_der(&k.secret),
        Alg::ES256 => EncodingKey::from_ec_der(&k.secret),
        Alg::RS256 => EncodingKey::from_rsa_der(&k.secret),
    }
}

/// The configured keys, parsed once: the first signs, all verify (each with its own
/// algorithm only).
pub struct JwtKeys {
    signing_kid: String,
    signing_alg: Alg,
    signing: EncodingKey,
    verifying: HashMap<String, (DecodingKey, Validation)>,
    jwks: Vec<crate::sessions::keys::Jwk>,
    verified: VerifiedCache<Claims>,
    /// The access-token lifetime: longer-lived tokens are refused.
    ttl: i64,
}

/// Tokens that passed every check, so that the next request with the same cookie costs a
/// hash lookup instead of a signature check. Only verified tokens enter; `exp` is checked
/// again on every hit (`nbf` was already in the past); revocation is checked by the
/// caller on every request either way. Bounded, and evicting gradually (`quick_cache`,
/// scan resistant: a flood of tokens used once leaves first, a token in use stays).
/// Keys are hashed with foldhash (randomly seeded): only tokens that passed verification
/// are ever inserted, so no one can choose keys to collide.
/// (Also the OpenID provider's cache of its access tokens, `oidc::tokens::Provider`.)
pub(crate) struct VerifiedCache<C>(
    Cache<Box<str>, Arc<C>, UnitWeighter, foldhash::fast::RandomState>,
);

pub(crate) const VERIFIED_CACHE_SIZE: usize = 16_384;

impl<C> VerifiedCache<C> {
    pub(crate) fn new(size: usize) -> VerifiedCache<C> {
        VerifiedCache(Cache::with(
            size,
            size as u64,
            UnitWeighter,
            foldhash::fast::RandomState::default(),
            DefaultLifecycle::default(),
        ))
    }

    /// A cached token's claims, if `current` still holds for them.
    pub(crate) fn get(&self, token: &str, current: impl Fn(&C) -> bool) -> Option<Arc<C>> {
        self.0.get(token).filter(|c| current(c))
    }

    pub(crate) fn put(&self, token: &str, claims: &Arc<C>) {
        self.0.insert(token.into(), claims.clone());
    }
}

impl JwtKeys {
    pub fn new(keys: &[Key], ttl: i64) -> Result<JwtKeys> {
        let first = keys
            .first()
            .ok_or_else(|| Error::Internal("no signing key".into()))?;
        let validation = |alg: Alg| {
            let mut v = Validation::new(alg.jwt());
            // `exp` and `nbf` are required here but checked against the application's
            // clock (`Claims::is_current`), not the library's.
            v.validate_exp = false;
            v.validate_nbf = false;
            v.set_issuer(&[ISSUER]);
            v.set_audience(&[AUDIENCE, DUTY_AUDIENCE]);
            v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
            v
        };
        let signing = encoding_key(first);
        Ok(JwtKeys {
            signing_kid: first.kid.clone(),
            signing_alg: first.alg,
            signing,
            verifying: keys
                .iter()
                .map(|k| (k.kid.clone(), (decoding_key(k), validation(k.alg))))
                .collect(),
            jwks: keys.iter().filter_map(Key::jwk).collect(),
            verified: VerifiedCache::new(VERIFIED_CACHE_SIZE),
            ttl,
        })
    }

    /// The public keys, for `/.well-known/jwks.json` (HS256 secrets never appear).
    pub fn jwks(&self) -> &[crate::sessions::keys::Jwk] {
        &self.jwks
    }

    pub fn sign(&self, claims: &Claims) -> Result<String> {
        let mut header = Header::new(self.signing_alg.jwt());
        header.typ = Some("JWT".into());
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signing)
            .map_err(|e| Error::Internal(format!("jwt: {e}")))
    }

    /// The claims of a token that passes every check at `now`, or `None` (shared: a
    /// cached token costs no copy).
    pub fn verify(&self, token: &str, now: i64) -> Option<Arc<Claims>> {
        if let Some(claims) = self.verified.get(token, |c| c.is_current(now)) {
            return Some(claims);
        }
        let claims = Arc::new(self.verify_signature(token, now)?);
        self.verified.put(token, &claims);
        Some(claims)
    }

    /// Every check, without the cache of verified tokens.
    pub fn verify_signature(&self, token: &str, now: i64) -> Option<Claims> {
        let (key, validation) = self.key_for(token)?;
        jsonwebtoken::decode::<Claims>(token, key, validation)
            .ok()
            .map(|data| data.claims)
            .filter(|c| c.is_current(now) && c.lifetime_within(self.ttl))
            // The audience and the duties go together: a full audience with a duty (or
            // the reverse) was not made here.
            .filter(|c| (c.aud == DUTY_AUDIENCE) == c.has_duty())
    }

    /// Reads the header ourselves: jsonwebtoken ignores parameters it does not know, and
    /// `crit` must be refused, not ignored; the `alg` must be the one of the `kid`'s key.
    fn key_for(&self, token: &str) -> Option<(&DecodingKey, &Validation)> {
        let header_b64 = token.split('.').next()?;
        if header_b64.len() > 1024 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(header_b64).ok()?;
        let header: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&bytes).ok()?;
        if REFUSED_HEADERS.iter().any(|h| header.contains_key(*h)) {
            return None;
        }
        if let Some(typ) = header.get("typ") {
            if typ.as_str()? != "JWT" {
                return None;
            }
        }
        let (key, validation) = self.verifying.get(header.get("kid")?.as_str()?)?;
        let alg = Alg::parse(header.get("alg")?.as_str()?)?;
        (validation.algorithms == [alg.jwt()]).then_some((key, validation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Result<JwtKeys> {
        JwtKeys::new(&[Key::hmac("k1", vec![1; 32])], 300)
    }

    #[test]
    fn a_cached_token_still_expires() -> Result<()> {
        let keys = keys()?;
        let now = crate::clock::system_now();
        let claims = Claims::new(1, "a", Role::User, "s", now - 100, 90)?; // expired 10 s ago
        let token = keys.sign(&claims)?;
        assert!(keys.verify(&token, now).is_none());
        // Even if it had entered the cache while valid, a hit past exp + leeway is refused.
        keys.verified.put(&token, &Arc::new(claims));
        assert!(keys.verified.get(&token, |c| c.is_current(now)).is_none());
        assert!(keys.verify(&token, now).is_none());
        // Valid a moment earlier, by the clock the caller passes.
        assert!(keys.verify(&token, now - 20).is_some());
        Ok(())
    }

    #[test]
    fn only_verified_tokens_enter_the_cache() -> Result<()> {
        let keys = keys()?;
        let now = crate::clock::system_now();
        let good = keys.sign(&Claims::new(1, "a", Role::User, "s", now, 300)?)?;
        let forged = format!("{good}x");
        assert!(keys.verify(&forged, now).is_none());
        assert!(keys.verified.get(&forged, |c| c.is_current(now)).is_none());
        assert!(keys.verify(&good, now).is_some());
        assert!(keys.verified.get(&good, |c| c.is_current(now)).is_some());
        Ok(())
    }

    /// A token in use, then 200,000 other verified tokens (the old cache emptied itself
    /// at 16,384): the one in use is still a cache hit, and the cache stays within its
    /// size.
    #[test]
    fn a_flood_of_new_tokens_leaves_a_token_in_use_cached() -> Result<()> {
        let keys = keys()?;
        let now = crate::clock::system_now();
        let claims = Arc::new(Claims::new(1, "a", Role::User, "s", now, 300)?);
        let known = keys.sign(&claims)?;
        assert!(keys.verify(&known, now).is_some());
        assert!(keys.verify(&known, now).is_some(), "a hit");
        for i in 0..200_000 {
            // Their signatures are not what is tested here: straight into the cache.
            keys.verified.put(&format!("{known}.{i}"), &claims);
        }
        let cache = &keys.verified.0;
        assert!(cache.len() as u64 <= cache.capacity(), "bounded");
        assert!(
            keys.verified.get(&known, |c| c.is_current(now)).is_some(),
            "still cached"
        );
        Ok(())
    }
}
