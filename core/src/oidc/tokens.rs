//! What a client receives, signed: ID tokens, RFC 9068 access tokens (`typ` `at+jwt`) and
//! back-channel logout tokens (`typ` `logout+jwt`). Each is signed with the first
//! configured key of the client's algorithm (RS256 unless the client was registered
//! with another), wherever that key stands in `jwt_keys`; HS256 secrets never sign
//! anything a client sees.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sessions::keys::{Alg, Key};
use crate::sessions::tokens::{
    decoding_key, encoding_key, VerifiedCache, LEEWAY, VERIFIED_CACHE_SIZE,
};

/// The event of a back-channel logout token.
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Seconds a logout token is good for.
pub const LOGOUT_TOKEN_TTL: i64 = 120;

/// The algorithms a client may get its tokens in, the default first.
pub const CLIENT_ALGS: [Alg; 3] = [Alg::RS256, Alg::ES256, Alg::EdDSA];

/// The keys and the issuer, built once at start when `public_url` is set.
pub struct Provider {
    /// `public_url`, exactly (no trailing slash).
    pub issuer: String,
    /// The first key of each asymmetric algorithm.
    signing: HashMap<&'static str, (String, EncodingKey)>,
    /// Every asymmetric key, by kid.
    verifying: HashMap<String, (Alg, DecodingKey)>,
    pub access_ttl: i64,
    /// Access tokens that passed every check (userinfo and introspection answer a token
    /// in use with a hash lookup, not a signature check; the times are checked on every
    /// hit, revocation by the caller).
    verified: VerifiedCache<AccessClaims>,
}

/// The claims of an access token (RFC 9068), with the grant it belongs to and the
/// userinfo claims its scope allows (so that userinfo needs no database query).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The grant (one redeemed code and its refreshes).
    pub gid: String,
    #[serde(flatten)]
    pub profile: Profile,
}

/// The claims about the person that the scope allows (`profile`, `email`, `groups`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

/// The claims of an ID token.
#[derive(Debug, Clone, Serialize)]
pub struct IdClaims<'a> {
    pub iss: &'a str,
    pub sub: String,
    pub aud: &'a str,
    pub azp: &'a str,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<&'a str>,
    pub sid: &'a str,
    pub at_hash: String,
    pub amr: Vec<String>,
    #[serde(flatten)]
    pub profile: &'a Profile,
}

/// What an `id_token_hint` says, once its signature and issuer check out (an expired
/// one counts).
#[derive(Debug, Clone, Deserialize)]
pub struct Hint {
    pub sub: String,
    pub aud: serde_json::Value,
    #[serde(default)]
    pub sid: Option<String>,
}

impl Hint {
    /// The client it was issued to.
    pub fn client_id(&self) -> Option<String> {
        match &self.aud {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()).map(str::to_string),
            _ => None,
        }
    }
}

impl Provider {
    pub fn new(issuer: &str, keys: &[Key], access_ttl: i64) -> Provider {
        let mut signing = HashMap::new();
        let mut verifying = HashMap::new();
        for k in keys.iter().filter(|k| k.alg != Alg::HS256) {
            signing
                .entry(k.alg.as_str())
                .or_insert_with(|| (k.kid.clone(), encoding_key(k)));
            verifying.insert(k.kid.clone(), (k.alg, decoding_key(k)));
        }
        Provider {
            issuer: issuer.to_string(),
            signing,
            verifying,
            access_ttl,
            verified: VerifiedCache::new(VERIFIED_CACHE_SIZE),
        }
    }

    /// Whether a key of `alg` is configured.
    pub fn has(&self, alg: Alg) -> bool {
        self.signing.contains_key(alg.as_str())
    }

    /// The ID-token algorithms on offer (RS256 first).
    pub fn algs(&self) -> Vec<&'static str> {
        CLIENT_ALGS
            .iter()
            .filter(|a| self.has(**a))
            .map(|a| a.as_str())
            .collect()
    }

    /// Signs `claims` with the first key of `alg`, with header `typ`.
    pub fn sign(&self, alg: Alg, typ: &str, claims: &impl Serialize) -> Result<String> {
        let (kid, key) = self.signing.get(alg.as_str()).ok_or_else(|| {
            Error::Internal(format!(
                "no {} key in `jwt_keys` (make one with: gatehouse generate-key --alg {})",
                alg.as_str(),
                alg.as_str()
            ))
        })?;
        let mut header = Header::new(alg.jwt());
        header.typ = Some(typ.into());
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, claims, key).map_err(|e| Error::Internal(format!("jwt: {e}")))
    }

    /// The key for a token whose header names one of our asymmetric keys with its own
    /// algorithm and the expected `typ`.
    fn key_for(&self, token: &str, typ: Option<&str>) -> Option<(&DecodingKey, Validation)> {
        let header_b64 = token.split('.').next()?;
        if header_b64.len() > 1024 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(header_b64).ok()?;
        let header: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&bytes).ok()?;
        if ["crit", "jku", "jwk", "x5u", "x5c"]
            .iter()
            .any(|h| header.contains_key(*h))
        {
            return None;
        }
        if let Some(typ) = typ {
            let t = header.get("typ")?.as_str()?;
            if !t.eq_ignore_ascii_case(typ)
                && !t.eq_ignore_ascii_case(&format!("application/{typ}"))
            {
                return None;
            }
        }
        let (alg, key) = self.verifying.get(header.get("kid")?.as_str()?)?;
        if Alg::parse(header.get("alg")?.as_str()?)? != *alg {
            return None;
        }
        let mut v = Validation::new(alg.jwt());
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        v.set_issuer(&[&self.issuer]);
        v.set_required_spec_claims(&["iss", "sub"]);
        Some((key, v))
    }

    /// The claims of an access token that passes every check at `now` (revocation is
    /// the caller's: `Revocations::refuses_access`).
    pub fn verify_access(&self, token: &str, now: i64) -> Option<std::sync::Arc<AccessClaims>> {
        let leeway = LEEWAY as i64;
        let current = |c: &AccessClaims| {
            c.iat <= now + leeway
                && now <= c.exp + leeway
                && c.exp - c.iat <= self.access_ttl + leeway
        };
        if let Some(claims) = self.verified.get(token, current) {
            return Some(claims);
        }
        let (key, v) = self.key_for(token, Some("at+jwt"))?;
        let claims = jsonwebtoken::decode::<AccessClaims>(token, key, &v)
            .ok()?
            .claims;
        if !current(&claims) {
            return None;
        }
        let claims = std::sync::Arc::new(claims);
        self.verified.put(token, &claims);
        Some(claims)
    }

    /// An `id_token_hint` issued here: an ID token (`typ` `JWT`: an access token or a
    /// logout token is not one, though signed by the same keys), its signature and issuer
    /// (an expired one counts).
    pub fn verify_hint(&self, token: &str) -> Option<Hint> {
        let (key, v) = self.key_for(token, Some("JWT"))?;
        jsonwebtoken::decode::<Hint>(token, key, &v)
            .ok()
            .map(|d| d.claims)
    }
}

/// `at_hash`: the left half of the hash of the access token (SHA-256 for RS256 and ES256,
/// SHA-512 for Ed25519), base64url.
pub fn at_hash(alg: Alg, access_token: &str) -> String {
    use sha2::Digest;
    let digest: Vec<u8> = match alg {
        Alg::EdDSA => sha2::Sha512::digest(access_token.as_bytes()).to_vec(),
        _ => sha2::Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// The PKCE S256 challenge of a verifier.
pub fn s256(verifier: &str) -> String {
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc7636() {
        // RFC 7636, appendix B.
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
