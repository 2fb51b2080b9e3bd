//! What makes a password acceptable: length by characters (any Unicode), at most 128,
//! not the username. No composition rules.

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
        Ok(())
    }
}
