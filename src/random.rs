//! Random identifiers and secrets from the operating system's generator.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;

pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    OsRng.fill_bytes(&mut buf);
    buf
}

/// `N` random bytes as unpadded base64url.
pub fn token<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(bytes::<N>())
}

/// True when `s` looks like a `token::<N>()`: the right length of base64url characters.
pub fn is_token<const N: usize>(s: &str) -> bool {
    s.len() == (N * 4).div_ceil(3)
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
