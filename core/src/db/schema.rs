// Written to match migrations/*/up.sql; the same table! definitions serve every backend.

diesel::table! {
    accounts (id) {
        id -> BigInt,
        username -> Text,
        username_key -> Text,
        password_hash -> Text,
        role -> Text,
        disabled -> Bool,
        must_change_password -> Bool,
        version -> BigInt,
        last_login_at -> Nullable<BigInt>,
        created_at -> BigInt,
        totp_secret -> Nullable<Text>,
        totp_enabled_at -> Nullable<BigInt>,
        totp_last_step -> Nullable<BigInt>,
        recovery_used_at -> Nullable<BigInt>,
        email -> Nullable<Text>,
        email_key -> Nullable<Text>,
        email_verified_at -> Nullable<BigInt>,
        lang -> Text,
        passkeys -> Integer,
    }
}

diesel::table! {
    login_attempts (username_key) {
        username_key -> Text,
        consecutive -> Integer,
        locked_until -> Nullable<BigInt>,
        hour_start -> BigInt,
        hour_failures -> Integer,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        account_id -> BigInt,
        remember -> Bool,
        user_agent -> Text,
        ip -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        expires_at -> BigInt,
        ended_at -> Nullable<BigInt>,
        end_reason -> Nullable<Text>,
        account_version -> BigInt,
        reauth_at -> BigInt,
        refresh_family -> Nullable<Text>,
        amr -> Text,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        session_id -> Text,
        token_hash -> Text,
        parent_id -> Nullable<BigInt>,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        used_by -> Nullable<Text>,
        grace_uses -> Integer,
        in_family -> Bool,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> BigInt,
        kind -> Text,
        actor_id -> Nullable<BigInt>,
        subject_id -> Nullable<BigInt>,
        subject_name -> Nullable<Text>,
        ip -> Text,
        detail -> Text,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> BigInt,
        account_id -> BigInt,
        code_hash -> Text,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    pending_sign_ins (token_hash) {
        token_hash -> Text,
        account_id -> BigInt,
        account_version -> BigInt,
        remember -> Bool,
        throttle_key -> Text,
        failures -> Integer,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    groups (id) {
        id -> BigInt,
        name -> Text,
        name_key -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    group_members (group_id, account_id) {
        group_id -> BigInt,
        account_id -> BigInt,
        added_at -> BigInt,
    }
}

diesel::table! {
    mail_tokens (token_hash) {
        token_hash -> Text,
        kind -> Text,
        account_id -> BigInt,
        email -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        stamp -> Text,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        kind -> Text,
        account_id -> Nullable<BigInt>,
        to_address -> Text,
        lang -> Text,
        data -> Text,
        created_at -> BigInt,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        claimed_until -> Nullable<BigInt>,
        sent_at -> Nullable<BigInt>,
        failed_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    passkeys (id) {
        id -> BigInt,
        account_id -> BigInt,
        credential_id -> Text,
        passkey -> Text,
        name -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        backup_eligible -> Bool,
        backup_state -> Bool,
        counter -> BigInt,
    }
}

diesel::table! {
    passkey_ceremonies (challenge_hash) {
        challenge_hash -> Text,
        kind -> Text,
        binding -> Text,
        account_id -> Nullable<BigInt>,
        state -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    write_probe (id) {
        id -> BigInt,
        at -> BigInt,
    }
}

diesel::joinable!(group_members -> groups (group_id));
diesel::joinable!(sessions -> accounts (account_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(passkeys -> accounts (account_id));
diesel::allow_tables_to_appear_in_same_query!(
    changes,
    passkeys,
    passkey_ceremonies,
    recovery_codes,
    pending_sign_ins,
    groups,
    group_members,
    mail_tokens,
    outbox,
    accounts,
    login_attempts,
    sessions,
    refresh_tokens,
    audit_events
);

diesel::table! {
    changes (id) {
        id -> BigInt,
        at -> BigInt,
        kind -> Text,
        session_id -> Nullable<Text>,
        account_id -> Nullable<BigInt>,
        role -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    oidc_clients (id) {
        id -> BigInt,
        client_id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        backchannel_logout_uri -> Nullable<Text>,
        allowed_groups -> Text,
        trusted -> Bool,
        require_pkce -> Bool,
        id_token_alg -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    oidc_codes (code_hash) {
        code_hash -> Text,
        client_id -> Text,
        account_id -> BigInt,
        session_id -> Text,
        redirect_uri -> Text,
        scope -> Text,
        nonce -> Nullable<Text>,
        code_challenge -> Nullable<Text>,
        auth_time -> BigInt,
        amr -> Text,
        grant_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    oidc_grants (id) {
        id -> Text,
        client_id -> Text,
        account_id -> BigInt,
        session_id -> Text,
        scope -> Text,
        auth_time -> BigInt,
        amr -> Text,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        refresh_family -> Nullable<Text>,
        refresh_hash -> Nullable<Text>,
        refresh_expires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    oidc_consents (account_id, client_id) {
        account_id -> BigInt,
        client_id -> Text,
        scope -> Text,
        granted_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    oidc_clients,
    oidc_grants,
    oidc_consents,
    sessions,
    oidc_codes
);
