//! RS256 for jsonwebtoken through OpenSSL (the copy built into the binary for libpq).
//!
//! jsonwebtoken's RustCrypto backend signs RS256 with the pure-Rust `rsa` crate: 2-4 ms of
//! CPU per signature on this project's machine, and an OpenID token response signs twice,
//! so the provider's code round trips were bound by it (about 200 a second on two cores).
//! This is a jsonwebtoken `CryptoProvider` that does RS256 with OpenSSL and hands every
//! other algorithm (HS256, ES256, EdDSA) to the RustCrypto provider unchanged. jsonwebtoken
//! still builds, parses and checks the tokens; only the RSA arithmetic moves.

use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER as RUST_CRYPTO;
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use std::collections::HashMap;

use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Rsa;

/// Makes jsonwebtoken use OpenSSL for RS256 in this process (once; later calls, and a
/// provider chosen before, leave it as it is: both give the same answers).
pub fn install() {
    static PROVIDER: std::sync::OnceLock<CryptoProvider> = std::sync::OnceLock::new();
    let provider = PROVIDER.get_or_init(|| CryptoProvider {
        signer_factory: signer,
        verifier_factory: verifier,
        key_utils: RUST_CRYPTO.key_utils.clone(),
    });
    let _ = provider.install_default();
}

fn signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    if *alg != Algorithm::RS256 {
        return (RUST_CRYPTO.signer_factory)(alg, key);
    }
    Ok(Box::new(Rs256Signer(private_key(key.as_bytes())?)))
}

/// Parsed keys, kept by their bytes: jsonwebtoken asks for a signer or verifier per
/// token, and a freshly parsed OpenSSL key would redo its Montgomery set-up (and, to sign,
/// its blinding) every time. There are a few keys (`jwt_keys`), so each map stays small;
/// it is cleared if it ever holds more than 64.
type Kept<T> = std::sync::OnceLock<std::sync::Mutex<HashMap<Vec<u8>, PKey<T>>>>;
static PRIVATE: Kept<Private> = std::sync::OnceLock::new();
static PUBLIC: Kept<Public> = std::sync::OnceLock::new();

fn kept<T>(
    keys: &'static Kept<T>,
    id: &[u8],
    parse: impl FnOnce() -> std::result::Result<Rsa<T>, openssl::error::ErrorStack>,
) -> std::result::Result<PKey<T>, openssl::error::ErrorStack> {
    let keys = keys.get_or_init(Default::default);
    if let Some(k) = keys.lock().ok().and_then(|m| m.get(id).cloned()) {
        return Ok(k);
    }
    let key = PKey::from_rsa(parse()?)?;
    if let Ok(mut m) = keys.lock() {
        if m.len() >= 64 {
            m.clear();
        }
        m.insert(id.to_vec(), key.clone());
    }
    Ok(key)
}

fn private_key(der: &[u8]) -> Result<PKey<Private>> {
    kept(&PRIVATE, der, || Rsa::private_key_from_der(der)).map_err(|_| {
        jsonwebtoken::errors::Error::from(ErrorKind::InvalidRsaKey(
            "not a PKCS#1 RSA private key".into(),
        ))
    })
}

fn verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *alg != Algorithm::RS256 {
        return (RUST_CRYPTO.verifier_factory)(alg, key);
    }
    // Kept like the private keys: a fresh key would redo its Montgomery set-up for every
    // token checked (id_token_hint, and userinfo's first sight of each access token).
    let key = match key.kind() {
        DecodingKeyKind::SecretOrDer(der) => {
            kept(&PUBLIC, der, || Rsa::public_key_from_der_pkcs1(der))
        }
        DecodingKeyKind::RsaModulusExponent { n, e } => {
            let id = [n.as_slice(), b".", e.as_slice()].concat();
            kept(&PUBLIC, &id, || {
                Rsa::from_public_components(BigNum::from_slice(n)?, BigNum::from_slice(e)?)
            })
        }
    }
    .map_err(|_| {
        jsonwebtoken::errors::Error::from(ErrorKind::InvalidRsaKey(
            "not a PKCS#1 RSA public key".into(),
        ))
    })?;
    Ok(Box::new(Rs256Verifier(key)))
}

struct Rs256Signer(PKey<Private>);

impl signature::Signer<Vec<u8>> for Rs256Signer {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        let mut s = openssl::sign::Signer::new(MessageDigest::sha256(), &self.0)
            .map_err(|_| signature::Error::new())?;
        s.update(msg).map_err(|_| signature::Error::new())?;
        s.sign_to_vec().map_err(|_| signature::Error::new())
    }
}

impl JwtSigner for Rs256Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

struct Rs256Verifier(PKey<Public>);

impl signature::Verifier<Vec<u8>> for Rs256Verifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let mut v = openssl::sign::Verifier::new(MessageDigest::sha256(), &self.0)
            .map_err(|_| signature::Error::new())?;
        v.update(msg).map_err(|_| signature::Error::new())?;
        match v.verify(sig) {
            Ok(true) => Ok(()),
            _ => Err(signature::Error::new()),
        }
    }
}

impl JwtVerifier for Rs256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::keys::{generate_pem, Alg, Key};
    use crate::sessions::tokens::{decoding_key, encoding_key};

    /// Tokens signed by either backend verify with the other, and a changed byte fails
    /// with both: OpenSSL gives the same RS256 as RustCrypto.
    #[test]
    fn openssl_and_rustcrypto_agree_on_rs256() -> std::result::Result<(), String> {
        let pem = generate_pem(Alg::RS256)?;
        let key = Key::from_pem("r", Alg::RS256, &pem)?;
        let (enc, dec) = (encoding_key(&key), decoding_key(&key));
        let msg = b"header.claims";
        let ours = signer(&Algorithm::RS256, &enc).map_err(|e| e.to_string())?;
        let theirs =
            (RUST_CRYPTO.signer_factory)(&Algorithm::RS256, &enc).map_err(|e| e.to_string())?;
        let (a, b) = (
            ours.try_sign(msg).map_err(|e| e.to_string())?,
            theirs.try_sign(msg).map_err(|e| e.to_string())?,
        );
        assert_eq!(a, b, "PKCS#1 v1.5 signatures are deterministic");
        let v_ours = verifier(&Algorithm::RS256, &dec).map_err(|e| e.to_string())?;
        let v_theirs =
            (RUST_CRYPTO.verifier_factory)(&Algorithm::RS256, &dec).map_err(|e| e.to_string())?;
        assert!(v_ours.verify(msg, &b).is_ok());
        assert!(v_theirs.verify(msg, &a).is_ok());
        let mut bad = a.clone();
        bad[10] ^= 1;
        assert!(v_ours.verify(msg, &bad).is_err());
        assert!(v_ours.verify(b"header.claimz", &a).is_err());
        // A public key given as modulus and exponent (a JWK) verifies too.
        let jwk = key.jwk().ok_or("a JWK")?;
        let from_jwk = DecodingKey::from_rsa_components(
            jwk.n.as_deref().ok_or("n")?,
            jwk.e.as_deref().ok_or("e")?,
        )
        .map_err(|e| e.to_string())?;
        let v_jwk = verifier(&Algorithm::RS256, &from_jwk).map_err(|e| e.to_string())?;
        assert!(v_jwk.verify(msg, &a).is_ok());
        Ok(())
    }
}
