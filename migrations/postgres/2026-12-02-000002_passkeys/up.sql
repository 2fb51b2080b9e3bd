-- Passkeys (WebAuthn): each row is one credential of an account, the `Passkey` as
-- webauthn-rs serialises it (public key, counter, backup flags), with what the account
-- page shows kept beside it. A credential id belongs to one account only.
CREATE TABLE passkeys (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL,                 -- base64url, as the browser sends it
    passkey TEXT NOT NULL,                       -- webauthn-rs Passkey (JSON)
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    backup_eligible BOOLEAN NOT NULL,
    backup_state BOOLEAN NOT NULL,               -- synced (backed up) as last seen
    counter BIGINT NOT NULL DEFAULT 0            -- signature counter as last seen
);
CREATE UNIQUE INDEX passkeys_credential_idx ON passkeys (credential_id);
CREATE INDEX passkeys_account_idx ON passkeys (account_id);

-- A ceremony in progress: the challenge a page handed to the browser (by its SHA-256),
-- what it is for, the browser it is bound to (the hash of its pre-session cookie, of its
-- pending sign-in, or its session), the account for registration and the second steps,
-- and webauthn-rs's state. Used once; valid five minutes; any instance can finish it.
CREATE TABLE passkey_ceremonies (
    challenge_hash TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,                          -- register, sign_in, second_step, reauth
    binding TEXT NOT NULL,
    account_id BIGINT REFERENCES accounts (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX passkey_ceremonies_expires_idx ON passkey_ceremonies (expires_at);
CREATE INDEX passkey_ceremonies_binding_idx ON passkey_ceremonies (binding, created_at);

-- How many passkeys the account has, kept with the rows in the same transactions, so
-- that "has a second factor" stays a property of the account row (tokens, duties).
ALTER TABLE accounts ADD COLUMN passkeys INTEGER NOT NULL DEFAULT 0;

-- How each session was signed in, as OpenID Connect's `amr` says it (space-separated):
-- "pwd", "pwd otp" (a code as the second step), "pwd hwk" (a passkey as the second step),
-- "hwk user" (a passkey with user verification, no password).
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
