//! Signing keys: an HMAC secret (HS256), or a private key for EdDSA (Ed25519), ES256
//! (P-256) or RS256 (RSA, 2048 bits or more) read from PKCS#8 PEM, whose public half is published (`/.well-known/jwks.json`)
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
    RS256,
}

impl Alg {
    pub fn parse(s: &str) -> Option<Alg> {
        match s {
            "HS256" => Some(Alg::HS256),
            "EdDSA" => Some(Alg::EdDSA),
            "ES256" => Some(Alg::ES256),
            "RS256" => Some(Alg::RS256),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::HS256 => "HS256",
            Alg::EdDSA => "EdDSA",
            Alg::ES256 => "ES256",
            Alg::RS256 => "RS256",
        }
    }

    pub fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Alg::HS256 => jsonwebtoken::Algorithm::HS256,
            Alg::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            Alg::ES256 => jsonwebtoken::Algorithm::ES256,
            Alg::RS256 => jsonwebtoken::Algorithm::RS256,
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
    /// SEC1 point for P-256, the PKCS#1 DER of an RSA public key (the private key is kept
    /// as PKCS#1 DER too, the form jsonwebtoken signs with).
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

    /// An EdDSA, ES256 or RS256 key from its private key in PKCS#8 PEM.
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
            Alg::RS256 => {
                use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
                use rsa::traits::PublicKeyParts;
                let key = <rsa::RsaPrivateKey as rsa::pkcs8::DecodePrivateKey>::from_pkcs8_pem(pem)
                    .map_err(|e| format!("not an RSA private key in PKCS#8 PEM: {e}"))?;
                let bits = key.n().bits();
                if bits < RSA_MIN_BITS {
                    return Err(format!(
                        "the RSA key has {bits} bits; it must have at least {RSA_MIN_BITS}"
                    ));
                }
                let der = key.to_pkcs1_der().map_err(|e| format!("RSA key: {e}"))?;
                let public = key
                    .to_public_key()
                    .to_pkcs1_der()
                    .map_err(|e| format!("RSA key: {e}"))?;
                (der.as_bytes().to_vec(), public.as_bytes().to_vec())
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
                crv: Some("Ed25519"),
                x: Some(b64(&self.public)),
                ..Jwk::new(&self.kid, "EdDSA")
            }),
            Alg::ES256 => Some(Jwk {
                kty: "EC",
                crv: Some("P-256"),
                x: Some(b64(self.public.get(1..33)?)),
                y: Some(b64(self.public.get(33..65)?)),
                ..Jwk::new(&self.kid, "ES256")
            }),
            Alg::RS256 => {
                use rsa::pkcs1::DecodeRsaPublicKey;
                use rsa::traits::PublicKeyParts;
                let key = rsa::RsaPublicKey::from_pkcs1_der(&self.public).ok()?;
                Some(Jwk {
                    kty: "RSA",
                    n: Some(b64(&key.n().to_bytes_be())),
                    e: Some(b64(&key.e().to_bytes_be())),
                    ..Jwk::new(&self.kid, "RS256")
                })
            }
        }
    }
}

/// One entry of `/.well-known/jwks.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA: the modulus and the public exponent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
}

impl Jwk {
    fn new(kid: &str, alg: &'static str) -> Jwk {
        Jwk {
            kty: "",
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
            kid: kid.to_string(),
            alg,
            use_: "sig",
        }
    }
}

/// The smallest RSA modulus accepted, in bits.
pub const RSA_MIN_BITS: usize = 2048;

/// A new private key for `alg` (EdDSA, ES256 or RS256: 2048 bits) in PKCS#8 PEM
/// (`gatehouse generate-key`).
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
        Alg::RS256 => {
            use rsa::pkcs8::EncodePrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, RSA_MIN_BITS)
                .map_err(|e| format!("could not make an RSA key: {e}"))?;
            key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
                .map(|pem| pem.to_string())
                .map_err(|e| e.to_string())
        }
        Alg::HS256 => Err("HS256 keys are random bytes: head -c 32 /dev/urandom | base64".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_read_back_and_publish_their_public_half() -> Result<(), String> {
        for alg in [Alg::EdDSA, Alg::ES256, Alg::RS256] {
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

    #[test]
    fn rsa_keys_under_2048_bits_are_refused() -> Result<(), String> {
        use rsa::pkcs8::EncodePrivateKey;
        let small = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024)
            .map_err(|e| e.to_string())?
            .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .map_err(|e| e.to_string())?;
        let err = Key::from_pem("k", Alg::RS256, &small)
            .err()
            .unwrap_or_default();
        assert!(err.contains("1024") && err.contains("2048"), "{err}");
        let jwk = Key::from_pem("k", Alg::RS256, &generate_pem(Alg::RS256)?)?
            .jwk()
            .ok_or("a JWK")?;
        assert_eq!((jwk.kty, jwk.e.as_deref()), ("RSA", Some("AQAB")));
        Ok(())
    }
}
