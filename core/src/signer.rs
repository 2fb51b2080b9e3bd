//! HMAC-SHA256 under a key derived for one purpose from a secret that does not rotate
//! (`encryption_key`), so that instances sharing it agree, a rotation of the signing keys
//! changes nothing, and a value made for one purpose never passes for another.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub struct Signer(Vec<u8>);

/// The HMAC-SHA256 of `data` under `key` (any length), the one HMAC constructor of the
/// program: the signer's keys and signatures, and the password pre-hash.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    mac_with(key, data).finalize().into_bytes().into()
}

fn mac_with(key: &[u8], data: &[u8]) -> Hmac<Sha256> {
    #[allow(clippy::expect_used)] // HMAC accepts keys of any length: this cannot fail
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length"); // allow: any key length
    mac.update(data);
    mac
}

impl Signer {
    /// A key of its own for `purpose` (e.g. `b"gatehouse/csrf/v1"`), from a secret.
    pub fn derive_from(secret: &[u8], purpose: &[u8]) -> Signer {
        Signer(hmac_sha256(secret, purpose).to_vec())
    }

    /// The signature of `data`, base64url.
    pub fn sign(&self, data: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac_sha256(&self.0, data.as_bytes()))
    }

    /// Whether `signature` is that of `data` (compared in constant time).
    pub fn verify(&self, data: &str, signature: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(signature) {
            Ok(bytes) => mac_with(&self.0, data.as_bytes())
                .verify_slice(&bytes)
                .is_ok(),
            Err(_) => false,
        }
    }
}
