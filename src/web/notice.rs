//! Messages shown after a redirect (`?notice=key`). Only these fixed texts can appear,
//! so nothing from the address is ever echoed into a page.

pub fn text(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "signed_out" => "You have been signed out.",
        "setup_done" => "The administrator account is ready. Sign in with it.",
        "signed_up" => "Your account is ready. Sign in with it.",
        "must_change" => "Choose a new password before you continue.",
        "password_changed" => "Your password has been changed. Your other devices have been signed out.",
        "session_revoked" => "That device has been signed out.",
        "others_revoked" => "All your other devices have been signed out.",
        "created" => "The account has been created. Its owner must choose a new password at first sign-in.",
        "role_changed" => "The role has been changed.",
        "disabled" => "The account has been disabled and all its sessions ended.",
        "enabled" => "The account has been enabled.",
        "unlocked" => "The account has been unlocked.",
        "password_reset" => "The password has been reset and all sessions ended. Its owner must choose a new one at next sign-in.",
        "sessions_revoked" => "All sessions of the account have been ended.",
        "deleted" => "The account has been deleted.",
        _ => return None,
    })
}
