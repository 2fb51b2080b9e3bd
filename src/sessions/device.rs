//! Device cookies (OWASP's scheme against lockout abuse): a browser that has signed in to
//! an account gets a signed token naming that account. Its later attempts are throttled
//! on their own, so that failures from elsewhere cannot lock the owner out; and the
//! refresh grace window answers only the device that used the token.

use crate::error::Result;
use crate::sessions::tokens::Key;
use crate::signer::Signer;

pub struct DeviceKey(Signer);

impl DeviceKey {
    pub fn derive(signing: &Key) -> DeviceKey {
        DeviceKey(Signer::derive_from(&signing.secret, b"gatehouse/device/v1"))
    }

    /// A new device token for `username` (any case): `<nonce>.<signature>`.
    pub fn issue(&self, username: &str) -> Result<String> {
        let nonce = crate::random::token::<16>()?;
        let signature = self.0.sign(&Self::data(username, &nonce));
        Ok(format!("{nonce}.{signature}"))
    }

    /// The token's nonce, when it is a valid device token for `username`.
    pub fn verify<'t>(&self, token: &'t str, username: &str) -> Option<&'t str> {
        let (nonce, signature) = token.split_once('.')?;
        (crate::random::is_token::<16>(nonce)
            && self.0.verify(&Self::data(username, nonce), signature))
        .then_some(nonce)
    }

    /// The nonce of any valid-looking token (whose account is not known here), to tell
    /// devices apart.
    pub fn nonce(token: &str) -> Option<&str> {
        let (nonce, _) = token.split_once('.')?;
        crate::random::is_token::<16>(nonce).then_some(nonce)
    }

    fn data(username: &str, nonce: &str) -> String {
        format!("{}\n{nonce}", crate::accounts::username_key(username))
    }
}

/// A short description of the browser behind a user agent, for people.
pub fn describe(user_agent: &str) -> String {
    let ua = crate::text::printable(user_agent, 256);
    if ua.is_empty() {
        "an unknown browser".into()
    } else {
        ua
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_token_names_one_account() -> Result<()> {
        let key = DeviceKey::derive(&Key::hmac("k", vec![9; 32]));
        let token = key.issue("Alice")?;
        assert!(key.verify(&token, "alice").is_some(), "any case");
        assert!(key.verify(&token, "bob").is_none());
        assert!(key.verify(&format!("{token}x"), "alice").is_none());
        assert!(key.verify("garbage", "alice").is_none());
        assert_eq!(DeviceKey::nonce(&token), key.verify(&token, "alice"));
        Ok(())
    }
}
