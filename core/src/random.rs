//! Random identifiers and secrets from the operating system's generator.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{Error, Result};

/// `N` bytes from the operating system. Fails (rather than panics) in the unlikely case
/// that the system cannot provide them.
pub fn bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::Internal(format!("the system's random generator failed: {e}")))?;
    Ok(buf)
}

/// `N` random bytes as unpadded base64url.
pub fn token<const N: usize>() -> Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(bytes::<N>()?))
}

/// Bytes as unpadded base64url.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The `N` bytes of a `token::<N>()`, if `s` is one.
pub fn decode<const N: usize>(s: &str) -> Option<[u8; N]> {
    if !is_token::<N>(s) {
        return None;
    }
    URL_SAFE_NO_PAD.decode(s).ok()?.try_into().ok()
}

/// True when `s` looks like a `token::<N>()`: the right length of base64url characters.
pub fn is_token<const N: usize>(s: &str) -> bool {
    s.len() == (N * 4).div_ceil(3)
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The SHA-256 of a token, in hex: how tokens are stored (a leaked table holds no token).
pub fn hash_token(token: &str) -> String {
    hash_bytes(token.as_bytes())
}

/// The SHA-256 of some bytes, in hex.
pub fn hash_bytes(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_recognised() -> Result<()> {
        let (a, b) = (token::<32>()?, token::<32>()?);
        assert_ne!(a, b);
        assert!(is_token::<32>(&a));
        assert!(!is_token::<32>(&a[1..]));
        assert!(!is_token::<16>(&a));
        Ok(())
    }
}
