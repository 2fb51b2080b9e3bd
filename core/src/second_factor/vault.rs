//! Second-factor secrets at rest: TOTP secrets sealed with AES-256-GCM under the
//! `encryption_key` (bound to their account, so a sealed secret copied to another row does
//! not open), and recovery codes kept as keyed hashes (useless without the key).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{Error, Result};
use crate::signer::Signer;

pub struct Vault {
    cipher: Aes256Gcm,
    codes: Signer,
}

const NONCE_BYTES: usize = 12;

impl Vault {
    pub fn new(key: &[u8; 32]) -> Vault {
        Vault {
            cipher: Aes256Gcm::new(key.into()),
            codes: Signer::derive_from(key, b"gatehouse/recovery-codes/v1"),
        }
    }

    /// `plain` encrypted and authenticated, bound to `context` (e.g. the account id).
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<String> {
        let nonce_bytes = crate::random::bytes::<NONCE_BYTES>()?;
        let nonce = Nonce::from(nonce_bytes);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| Error::Internal("sealing a secret failed".into()))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// What `seal` sealed with the same `context`, or `None` (wrong key, context or data).
    pub fn open(&self, sealed: &str, context: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() <= NONCE_BYTES {
            return None;
        }
        let (nonce, data) = bytes.split_at(NONCE_BYTES);
        let nonce = Nonce::try_from(nonce).ok()?;
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: data,
                    aad: context.as_bytes(),
                },
            )
            .ok()
    }

    /// The stored form of a recovery code (spaces, dashes and case do not matter).
    pub fn code_hash(&self, code: &str) -> String {
        let normal: String = code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        self.codes.sign(&normal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_context() -> Result<()> {
        let vault = Vault::new(&[3; 32]);
        let sealed = vault.seal(b"the secret", "totp:7")?;
        assert_eq!(
            vault.open(&sealed, "totp:7").as_deref(),
            Some(&b"the secret"[..])
        );
        assert!(vault.open(&sealed, "totp:8").is_none(), "another account");
        assert!(
            Vault::new(&[4; 32]).open(&sealed, "totp:7").is_none(),
            "another key"
        );
        assert!(vault.open("garbage", "totp:7").is_none());
        assert_ne!(
            vault.seal(b"the secret", "totp:7")?,
            sealed,
            "a fresh nonce each time"
        );
        Ok(())
    }

    #[test]
    fn recovery_codes_are_compared_in_one_form() {
        let vault = Vault::new(&[3; 32]);
        assert_eq!(vault.code_hash("abcd-efgh"), vault.code_hash(" ABCD EFGH "));
        assert_ne!(vault.code_hash("abcd-efgh"), vault.code_hash("abcd-efgi"));
    }
}
