//! What makes a password acceptable: length by characters (any Unicode), at most 128,
//! not the username, not common or easily guessed. No composition rules.
//!
//! "Common" is judged by zxcvbn: its dictionaries hold the most common passwords of
//! published breaches, English words, names and keyboard patterns, and it rates how many
//! guesses a password would take. Scores below 3 (about 10^8 guesses) are refused.

use crate::i18n::Message;

/// The floor below which the minimum length may not be set.
pub const PASSWORD_MIN_FLOOR: usize = 8;
/// The longest password accepted, in characters.
pub const PASSWORD_MAX: usize = 128;

pub struct PasswordPolicy {
    pub min_length: usize,
}

impl PasswordPolicy {
    /// Returns a message that says what to do when the password is refused.
    pub fn check(&self, password: &str, username: &str) -> Result<(), Message> {
        let n = password.chars().count();
        if n < self.min_length {
            return Err(Message::new("msg-password-short").with("min", self.min_length as i64));
        }
        if n > PASSWORD_MAX {
            return Err(Message::new("msg-password-long").with("max", PASSWORD_MAX as i64));
        }
        let lower = password.to_lowercase();
        if !username.is_empty() && lower.contains(&username.to_lowercase()) {
            return Err(Message::new("msg-password-username"));
        }
        let inputs = [username, "gatehouse"];
        if zxcvbn::zxcvbn(password, &inputs).score() < zxcvbn::Score::Three {
            return Err(Message::new("msg-password-common"));
        }
        Ok(())
    }
}
