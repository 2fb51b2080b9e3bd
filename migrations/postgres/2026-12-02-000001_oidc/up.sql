-- OpenID Connect provider (SPEC §11). Secrets, codes and refresh tokens are stored only as
-- their SHA-256 (each has at least 256 random bits), like the session refresh tokens.
CREATE TABLE oidc_clients (
    id BIGSERIAL PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    secret_hash TEXT,                              -- NULL: a public client (PKCE required)
    redirect_uris TEXT NOT NULL,                   -- JSON array, matched exactly
    post_logout_redirect_uris TEXT NOT NULL,       -- JSON array
    backchannel_logout_uri TEXT,
    allowed_groups TEXT NOT NULL,                  -- JSON array of group names; empty: everyone
    trusted BOOLEAN NOT NULL,
    require_pkce BOOLEAN NOT NULL,
    id_token_alg TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Authorization codes: 60 seconds, single use; pruned in batches once expired.
CREATE TABLE oidc_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    auth_time BIGINT NOT NULL,
    amr TEXT NOT NULL,                             -- space-separated
    grant_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX oidc_codes_expires_idx ON oidc_codes (expires_at);

-- What one redeemed code gave a client: its tokens (access tokens carry the grant's id),
-- at most one live refresh token (the family handle's hash and the current token's
-- hash: a token of the family that is not the current one is reuse), and the session it
-- came from (its end ends the grant, and tells the client by back-channel logout).
CREATE TABLE oidc_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    amr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    refresh_family TEXT UNIQUE,
    refresh_hash TEXT,
    refresh_expires_at BIGINT
);
CREATE INDEX oidc_grants_session_idx ON oidc_grants (session_id);
CREATE INDEX oidc_grants_account_idx ON oidc_grants (account_id, client_id);

-- Remembered consent per account and client: the scopes allowed (space-separated).
CREATE TABLE oidc_consents (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES oidc_clients (client_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, client_id)
);

-- The change feed also carries revoked OpenID Connect grants and access tokens
-- ('token_revoked', the key in `detail`), so every instance refuses them at once.
ALTER TABLE changes DROP CONSTRAINT IF EXISTS changes_kind_check;
ALTER TABLE changes ADD CONSTRAINT changes_kind_check
    CHECK (kind IN ('session_ended', 'role', 'token_revoked'));
