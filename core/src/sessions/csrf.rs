//! Form tokens: an HMAC of the session id (or, before sign-in, of a random pre-session
//! value), under a key of their own. `web::csrf` checks them on every POST.

use crate::signer::Signer;

pub struct CsrfKey(Signer);

impl CsrfKey {
    /// The key from `encryption_key`, which does not rotate with the signing keys: a form
    /// opened before a rotation still posts, on any instance.
    pub fn derive(secret: &[u8]) -> CsrfKey {
        CsrfKey(Signer::derive_from(secret, b"gatehouse/csrf/v1"))
    }

    /// The token for forms shown in session `sid`.
    pub fn for_session(&self, sid: &str) -> String {
        self.0.sign(&format!("s:{sid}"))
    }

    pub fn verify_session(&self, sid: &str, token: &str) -> bool {
        self.0.verify(&format!("s:{sid}"), token)
    }

    /// The token for forms shown before sign-in, to the holder of pre-session `value`.
    pub fn for_presession(&self, value: &str) -> String {
        self.0.sign(&format!("p:{value}"))
    }

    pub fn verify_presession(&self, value: &str, token: &str) -> bool {
        self.0.verify(&format!("p:{value}"), token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_session_and_kind() {
        let key = CsrfKey::derive(&[7; 32]);
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
