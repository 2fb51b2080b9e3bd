//! What makes a password acceptable: length by characters (any Unicode), at most 128,
//! not the username, not common or easily guessed. No composition rules.
//!
//! "Common" is judged by zxcvbn: its dictionaries hold the most common passwords of
//! published breaches, English words, names and keyboard patterns, and it rates how many
//! guesses a password would take. Scores below 3 (about 10^8 guesses) are refused.

use crate::config::PASSWORD_MAX;

pub struct PasswordPolicy {
    pub min_length: usize,
}

impl PasswordPolicy {
    /// Returns a message that says what to do when the password is refused.
    pub fn check(&self, password: &str, username: &str) -> Result<(), String> {
        let n = password.chars().count();
        if n < self.min_length {
            return Err(format!(
                "Choose a password of at least {} characters. A few unrelated words make a long password easy to remember.",
                self.min_length
            ));
        }
        if n > PASSWORD_MAX {
            return Err(format!(
                "Choose a password of at most {PASSWORD_MAX} characters."
            ));
        }
        let lower = password.to_lowercase();
        if !username.is_empty() && lower.contains(&username.to_lowercase()) {
            return Err("Choose a password that does not contain your username.".into());
        }
        let inputs = [username, "gatehouse"];
        if zxcvbn::zxcvbn(password, &inputs).score() < zxcvbn::Score::Three {
            return Err(
                "This password is too common or too easy to guess. Add a few words that do not form a \
                 known phrase, or avoid repeated characters and keyboard patterns."
                    .into(),
            );
        }
        Ok(())
    }
}
