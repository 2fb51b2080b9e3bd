-- Account ids are never reused (AUTOINCREMENT): a new account never inherits a deleted
-- one's audit history. SQLite can add AUTOINCREMENT only by rebuilding the table, with
-- foreign keys off so that dropping the old table does not cascade to the sessions.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE accounts_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL UNIQUE,           -- lower-cased, for case-insensitive uniqueness
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    -- bumped by every change that ends sessions or changes powers (password, status,
    -- role, revoke-all); sessions and sign-ins in flight of an older version are refused
    version BIGINT NOT NULL DEFAULT 1,
    last_login_at BIGINT,
    created_at BIGINT NOT NULL
);
INSERT INTO accounts_new (id, username, username_key, password_hash, role, disabled,
                          must_change_password, version, last_login_at, created_at)
    SELECT id, username, username_key, password_hash, role, disabled,
           must_change_password, version, last_login_at, created_at
    FROM accounts;
-- Ids of accounts deleted before this migration are not known; start after the highest
-- one ever seen in the audit log as well as in the table.
DELETE FROM sqlite_sequence WHERE name = 'accounts_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'accounts_new', MAX(m) FROM (
        SELECT COALESCE(MAX(id), 0) AS m FROM accounts
        UNION ALL SELECT COALESCE(MAX(subject_id), 0) FROM audit_events
        UNION ALL SELECT COALESCE(MAX(actor_id), 0) FROM audit_events
    );
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
CREATE INDEX accounts_role_idx ON accounts (role, username_key);
CREATE INDEX accounts_disabled_idx ON accounts (disabled, username_key);

-- The account version a session was started (or last confirmed) under.
ALTER TABLE sessions ADD COLUMN account_version BIGINT NOT NULL DEFAULT 1;
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
-- Who used a refresh token (a hash of the device cookie, or of address and user agent),
-- and how many times the grace window answered for it since.
ALTER TABLE refresh_tokens ADD COLUMN used_by TEXT;
ALTER TABLE refresh_tokens ADD COLUMN grace_uses INTEGER NOT NULL DEFAULT 0;
CREATE INDEX refresh_tokens_used_idx ON refresh_tokens (used_at);
CREATE INDEX audit_events_at_idx ON audit_events (at);
COMMIT;
PRAGMA foreign_keys = ON;
