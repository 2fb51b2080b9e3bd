//! Signing keys: an HMAC secret (HS256), or a private key for EdDSA (Ed25519) or ES256
//! (P-256) read from PKCS#8 PEM, whose public half is published (`/.well-known/jwks.json`)
//! so that other services can verify access tokens without the secret.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde::Serialize;

/// The algorithms a key may sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    HS256,
    EdDSA,
    ES256,
}

impl Alg {
    pub fn parse(s: &str) -> Option<Alg> {
        match s {
            "HS256" => Some(Alg::HS256),
            "EdDSA" => Some(Alg::EdDSA),
            "ES256" => Some(Alg::ES256),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::HS256 => "HS256",
            Alg::EdDSA => "EdDSA",
            Alg::ES256 => "ES256",
        }
    }

    pub fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Alg::HS256 => jsonwebtoken::Algorithm::HS256,
            Alg::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            Alg::ES256 => jsonwebtoken::Algorithm::ES256,
        }
    }
}

/// A signing key.
#[derive(Clone)]
pub struct Key {
    pub kid: String,
    pub alg: Alg,
    /// The HMAC secret, or the private key as PKCS#8 DER. Secret either way: the keys of
    /// form tokens and device cookies are derived from it.
    pub secret: Vec<u8>,
    /// The public key: empty for HS256, 32 bytes for Ed25519, the 65-byte uncompressed
    /// SEC1 point for P-256.
    pub public: Vec<u8>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Key {{ kid: {:?}, alg: {}, secret: <{} bytes> }}",
            self.kid,
            self.alg.as_str(),
            self.secret.len()
        )
    }
}

impl Key {
    /// An HS256 key.
    pub fn hmac(kid: &str, secret: Vec<u8>) -> Key {
        Key {
            kid: kid.to_string(),
            alg: Alg::HS256,
            secret,
            public: Vec::new(),
        }
    }

    /// An EdDSA or ES256 key from its private key in PKCS#8 PEM.
    pub fn from_pem(kid: &str, alg: Alg, pem: &str) -> Result<Key, String> {
        let (secret, public) = match alg {
            Alg::EdDSA => {
                let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
                    .map_err(|e| format!("not an Ed25519 private key in PKCS#8 PEM: {e}"))?;
                let der = key
                    .to_pkcs8_der()
                    .map_err(|e| format!("Ed25519 key: {e}"))?;
                (
                    der.as_bytes().to_vec(),
                    key.verifying_key().to_bytes().to_vec(),
                )
            }
            Alg::ES256 => {
                let key = p256::SecretKey::from_pkcs8_pem(pem)
                    .map_err(|e| format!("not a P-256 private key in PKCS#8 PEM: {e}"))?;
                let der = key.to_pkcs8_der().map_err(|e| format!("P-256 key: {e}"))?;
                (
                    der.as_bytes().to_vec(),
                    key.public_key().to_encoded_point(false).as_bytes().to_vec(),
                )
            }
            Alg::HS256 => return Err("an HS256 key has a `secret`, not a private key".into()),
        };
        Ok(Key {
            kid: kid.to_string(),
            alg,
            secret,
            public,
        })
    }

    /// The public key as a JWK, for asymmetric keys.
    pub fn jwk(&self) -> Option<Jwk> {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        match self.alg {
            Alg::HS256 => None,
            Alg::EdDSA => Some(Jwk {
                kty: "OKP",
                crv: "Ed25519",
                x: b64(&self.public),
                y: None,
                kid: self.kid.clone(),
                alg: "EdDSA",
                use_: "sig",
            }),
            Alg::ES256 => Some(Jwk {
                kty: "EC",
                crv: "P-256",
                x: b64(self.public.get(1..33)?),
                y: Some(b64(self.public.get(33..65)?)),
                kid: self.kid.clone(),
                alg: "ES256",
                use_: "sig",
            }),
        }
    }
}

/// One entry of `/.well-known/jwks.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub x: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
}

/// A new private key for `alg` (EdDSA or ES256) in PKCS#8 PEM (`gatehouse generate-key`).
pub fn generate_pem(alg: Alg) -> Result<String, String> {
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
    let random = || crate::random::bytes::<32>().map_err(|e| e.to_string());
    match alg {
        Alg::EdDSA => ed25519_dalek::SigningKey::from_bytes(&random()?)
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| e.to_string()),
        Alg::ES256 => {
            // A random 32-byte string is a valid scalar but for a vanishing few; draw again then.
            for _ in 0..8 {
                if let Ok(key) = p256::SecretKey::from_slice(&random()?) {
                    return key
                        .to_pkcs8_pem(LineEnding::LF)
                        .map(|pem| pem.to_string())
                        .map_err(|e| e.to_string());
                }
            }
            Err("could not draw a P-256 key".into())
        }
        Alg::HS256 => Err("HS256 keys are random bytes: head -c 32 /dev/urandom | base64".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_read_back_and_publish_their_public_half() -> Result<(), String> {
        for alg in [Alg::EdDSA, Alg::ES256] {
            let pem = generate_pem(alg)?;
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
            let key = Key::from_pem("k", alg, &pem)?;
            let jwk = key.jwk().ok_or("a public key")?;
            assert_eq!(jwk.alg, alg.as_str());
            assert!(!format!("{key:?}").contains(&URL_SAFE_NO_PAD.encode(&key.secret)));
        }
        assert!(Key::from_pem("k", Alg::EdDSA, &generate_pem(Alg::ES256)?).is_err());
        assert!(Key::hmac("k", vec![1; 32]).jwk().is_none());
        Ok(())
    }
}
