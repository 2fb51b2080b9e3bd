//! Messages shown after a redirect (`?notice=key`). Only these fixed texts can appear,
//! so nothing from the address is ever echoed into a page.

/// The catalogue key of a known notice (`notice-<key>`), or `None`.
pub fn text(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "signed_out" => "notice-signed_out",
        "setup_done" => "notice-setup_done",
        "signed_up" => "notice-signed_up",
        "must_change" => "notice-must_change",
        "password_changed" => "notice-password_changed",
        "language_saved" => "notice-language_saved",
        "session_revoked" => "notice-session_revoked",
        "others_revoked" => "notice-others_revoked",
        "created" => "notice-created",
        "role_changed" => "notice-role_changed",
        "disabled" => "notice-disabled",
        "enabled" => "notice-enabled",
        "unlocked" => "notice-unlocked",
        "password_reset" => "notice-password_reset",
        "sessions_revoked" => "notice-sessions_revoked",
        "deleted" => "notice-deleted",
        "must_enrol" => "notice-must_enrol",
        "2fa_disabled" => "notice-2fa_disabled",
        "2fa_reset" => "notice-2fa_reset",
        "second_step_over" => "notice-second_step_over",
        "groups_changed" => "notice-groups_changed",
        "group_created" => "notice-group_created",
        "group_deleted" => "notice-group_deleted",
        "email_sent" => "notice-email_sent",
        "email_verified" => "notice-email_verified",
        "password_reset_done" => "notice-password_reset_done",
        "invitation_accepted" => "notice-invitation_accepted",
        "invited" => "notice-invited",
        "invitation_resent" => "notice-invitation_resent",
        "invitation_cancelled" => "notice-invitation_cancelled",
        _ => return None,
    })
}
