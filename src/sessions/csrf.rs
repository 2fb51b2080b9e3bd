//! Form tokens: an HMAC of the session id (or, before sign-in, of a random pre-session
//! value), under a key of their own. `web::csrf` checks them on every POST.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::sessions::tokens::Key;

pub struct CsrfKey(Vec<u8>);

impl CsrfKey {
    /// A key of its own, derived from the signing key so that instances sharing keys agree.
    pub fn derive(signing: &Key) -> CsrfKey {
        CsrfKey(
            Self::mac_with(&signing.secret, b"gatehouse/csrf/v1")
                .finalize()
                .into_bytes()
                .to_vec(),
        )
    }

    fn mac_with(key: &[u8], data: &[u8]) -> Hmac<Sha256> {
        #[allow(clippy::expect_used)] // allow: HMAC accepts keys of any length
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(data);
        mac
    }

    fn token(&self, binding: &str) -> String {
        URL_SAFE_NO_PAD.encode(
            Self::mac_with(&self.0, binding.as_bytes())
                .finalize()
                .into_bytes(),
        )
    }

    fn verify(&self, binding: &str, token: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(token) {
            Ok(bytes) => Self::mac_with(&self.0, binding.as_bytes())
                .verify_slice(&bytes)
                .is_ok(),
            Err(_) => false,
        }
    }

    /// The token for forms shown in session `sid`.
    pub fn for_session(&self, sid: &str) -> String {
        self.token(&format!("s:{sid}"))
    }

    pub fn verify_session(&self, sid: &str, token: &str) -> bool {
        self.verify(&format!("s:{sid}"), token)
    }

    /// The token for forms shown before sign-in, to the holder of pre-session `value`.
    pub fn for_presession(&self, value: &str) -> String {
        self.token(&format!("p:{value}"))
    }

    pub fn verify_presession(&self, value: &str, token: &str) -> bool {
        self.verify(&format!("p:{value}"), token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_session_and_kind() {
        let key = CsrfKey::derive(&Key {
            kid: "k".into(),
            secret: vec![7; 32],
        });
        let t = key.for_session("s1");
        assert!(key.verify_session("s1", &t));
        assert!(!key.verify_session("s2", &t));
        assert!(
            !key.verify_presession("s1", &t),
            "a session token is not a pre-session one"
        );
        assert!(!key.verify_session("s1", "not base64!"));
    }
}
