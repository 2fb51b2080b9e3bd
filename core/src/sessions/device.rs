//! Device cookies (OWASP's scheme against lockout abuse): a browser that has signed in to
//! an account gets a signed token naming that account. Its later attempts are throttled
//! on their own, so that failures from elsewhere cannot lock the owner out; and the
//! refresh grace window answers only the device that used the token.

use crate::error::Result;
use crate::signer::Signer;

pub struct DeviceKey(Signer);

impl DeviceKey {
    /// The key from `encryption_key`, which does not rotate with the signing keys: device
    /// cookies outlive a rotation.
    pub fn derive(secret: &[u8]) -> DeviceKey {
        DeviceKey(Signer::derive_from(secret, b"gatehouse/device/v1"))
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

/// A browser and system people recognise, parsed from a User-Agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// `Firefox 128`, `Chrome 131`, `Safari 17` (a major version only).
    pub browser: String,
    /// `Linux`, `Windows 10`, `Mac OSX`, `iPhone`, `Android`.
    pub os: String,
}

/// The browser and system of `user_agent`, when the parser (woothee) knows them.
pub fn parse(user_agent: &str) -> Option<Device> {
    let r = woothee::parser::Parser::new().parse(user_agent)?;
    let known = |v: &str| !v.is_empty() && v != woothee::woothee::VALUE_UNKNOWN;
    // Browsers on computers and phones; tools and crawlers read better raw.
    if !known(r.name) || !matches!(r.category, "pc" | "smartphone" | "mobilephone") {
        return None;
    }
    let major = r.version.split('.').next().filter(|v| known(v));
    let browser = match major {
        Some(v) => format!("{} {v}", r.name),
        None => r.name.to_string(),
    };
    let os = if known(r.os) {
        r.os.to_string()
    } else {
        String::new()
    };
    Some(Device { browser, os })
}

/// A device as people read it, in `lang`: "Firefox 128 on Linux"; the raw string
/// (printable, shortened) when it cannot be parsed; "unknown browser" for none.
pub fn describe_in(user_agent: &str, lang: &str) -> String {
    use crate::i18n::{format, Arg};
    match parse(user_agent) {
        Some(d) if !d.os.is_empty() => format(
            lang,
            "device-name",
            &[("browser", Arg::Text(&d.browser)), ("os", Arg::Text(&d.os))],
        ),
        Some(d) => d.browser,
        None => {
            let ua = crate::text::printable(user_agent, 120);
            if ua.is_empty() {
                crate::i18n::text(lang, "unknown-browser", &[])
            } else {
                ua
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_token_names_one_account() -> Result<()> {
        let key = DeviceKey::derive(&[9; 32]);
        let token = key.issue("Alice")?;
        assert!(key.verify(&token, "alice").is_some(), "any case");
        assert!(key.verify(&token, "bob").is_none());
        assert!(key.verify(&format!("{token}x"), "alice").is_none());
        assert!(key.verify("garbage", "alice").is_none());
        assert_eq!(DeviceKey::nonce(&token), key.verify(&token, "alice"));
        Ok(())
    }

    #[test]
    fn user_agents_become_names_people_recognise() {
        for (ua, expect) in [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome 131 on Linux",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox 128 on Linux",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari 17 on iPhone",
            ),
            ("curl/8.5.0", "curl/8.5.0"),
            ("", "unknown browser"),
        ] {
            assert_eq!(describe_in(ua, "en"), expect, "{ua}");
        }
        assert_eq!(
            describe_in(
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "ko"
            ),
            "Linux의 Firefox 128"
        );
    }
}
