-- Second factor: a TOTP secret (encrypted with `encryption_key`), the last time step
-- accepted (each step is accepted once), and recovery codes (stored as keyed hashes).
ALTER TABLE accounts ADD COLUMN totp_secret TEXT;
ALTER TABLE accounts ADD COLUMN totp_enabled_at BIGINT;
ALTER TABLE accounts ADD COLUMN totp_last_step BIGINT;
ALTER TABLE accounts ADD COLUMN recovery_used_at BIGINT;

CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE UNIQUE INDEX recovery_codes_account_hash_idx ON recovery_codes (account_id, code_hash);

-- A sign-in whose password was right and whose second factor is awaited: no session yet.
CREATE TABLE pending_sign_ins (
    token_hash TEXT PRIMARY KEY NOT NULL,        -- SHA-256 of the __Host-pending cookie
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    account_version BIGINT NOT NULL,
    remember BOOLEAN NOT NULL,
    throttle_key TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_sign_ins_expires_idx ON pending_sign_ins (expires_at);

-- When this session last confirmed who it is (sign-in, or /reauth).
ALTER TABLE sessions ADD COLUMN reauth_at BIGINT NOT NULL DEFAULT 0;
