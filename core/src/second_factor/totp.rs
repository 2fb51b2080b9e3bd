//! Time-based one-time codes (RFC 6238: SHA-1, 6 digits, 30-second steps, the previous
//! and next step also accepted), through `totp-rs`; the enrolment URI and its QR code.

use totp_rs::{Builder, Secret, Totp};

use crate::error::{Error, Result};

pub const ISSUER: &str = "Gatehouse";
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;
pub const STEP_SECONDS: i64 = 30;

pub fn new_secret() -> Result<Vec<u8>> {
    Ok(crate::random::bytes::<SECRET_BYTES>()?.to_vec())
}

fn totp(secret: &[u8], account: &str) -> Result<Totp> {
    Builder::new()
        .with_secret(Secret::new(secret.to_vec().into_boxed_slice()))
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .map_err(|e| Error::Internal(format!("totp: {e}")))
}

/// The time step a code belongs to, when it is right at `now` (±1 step).
pub fn matching_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = u64::try_from(now).ok()?;
    let totp = totp(secret, "x").ok()?;
    totp.check(&code, now)
        .and_then(|step| i64::try_from(step).ok())
}

/// The code for the step containing `time` (tests and the enrolment check use it).
pub fn code_at(secret: &[u8], time: i64) -> Result<String> {
    let totp = totp(secret, "x")?;
    Ok(totp.generate(u64::try_from(time).unwrap_or(0)).to_string())
}

/// The secret as people type it (base32).
pub fn base32(secret: &[u8]) -> String {
    Secret::new(secret.to_vec().into_boxed_slice()).to_base32()
}

/// `otpauth://totp/Gatehouse:<name>?secret=…&issuer=Gatehouse…` for authenticator apps.
pub fn uri(secret: &[u8], username: &str) -> Result<String> {
    totp(secret, username)?
        .to_url()
        .map_err(|e| Error::Internal(format!("totp uri: {e}")))
}

/// The URI as a QR code, an inline SVG (no script, no request: it works under the CSP).
pub fn qr_svg(uri: &str) -> Result<String> {
    let code = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| Error::Internal(format!("qr code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vector() -> Result<()> {
        // RFC 6238 appendix B: secret "12345678901234567890", T = 59 → 94287082 (8 digits);
        // its last six digits are the 6-digit code.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59)?, "287082");
        assert_eq!(code_at(secret, 1_111_111_109)?, "081804");
        Ok(())
    }

    #[test]
    fn the_previous_and_next_steps_are_accepted_and_no_more() -> Result<()> {
        let secret = new_secret()?;
        let now = 1_800_000_015;
        let step = now / STEP_SECONDS;
        for (offset, accepted) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = code_at(&secret, now + offset * STEP_SECONDS)?;
            let got = matching_step(&secret, &code, now);
            assert_eq!(got.is_some(), accepted, "offset {offset}");
            if accepted {
                assert_eq!(got, Some(step + offset));
            }
        }
        assert_eq!(matching_step(&secret, "12345", now), None);
        assert_eq!(matching_step(&secret, "abcdef", now), None);
        Ok(())
    }

    #[test]
    fn the_uri_and_qr_code_name_the_issuer() -> Result<()> {
        let secret = new_secret()?;
        let uri = uri(&secret, "alice")?;
        assert!(uri.starts_with("otpauth://totp/Gatehouse:alice?"), "{uri}");
        assert!(uri.contains(&format!("secret={}", base32(&secret))));
        assert!(uri.contains("issuer=Gatehouse"));
        let svg = qr_svg(&uri)?;
        assert!(svg.contains("<svg") && !svg.contains("<script"));
        Ok(())
    }
}
