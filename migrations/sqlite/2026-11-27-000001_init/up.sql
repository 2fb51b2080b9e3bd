-- Times are Unix seconds (UTC) so that the same Diesel types serve SQLite and PostgreSQL.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL UNIQUE,           -- lower-cased, for case-insensitive uniqueness
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    version BIGINT NOT NULL DEFAULT 1,            -- bumped whenever tokens issued earlier must be re-checked
    last_login_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX accounts_role_idx ON accounts (role, username_key);
CREATE INDEX accounts_disabled_idx ON accounts (disabled, username_key);

-- Failed sign-ins per username, whether or not the account exists, so that a lockout
-- says nothing about existence; kept in the database so every instance sees one count.
CREATE TABLE login_attempts (
    username_key TEXT PRIMARY KEY NOT NULL,
    consecutive INTEGER NOT NULL,                 -- failures since the last success
    locked_until BIGINT,
    hour_start BIGINT NOT NULL,                   -- start of the current one-hour window
    hour_failures INTEGER NOT NULL
);
CREATE INDEX login_attempts_locked_idx ON login_attempts (locked_until);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,                 -- random, 128 bits, base64url
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    remember BOOLEAN NOT NULL,
    user_agent TEXT NOT NULL,
    ip TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,                   -- absolute cap
    ended_at BIGINT,
    end_reason TEXT
);
CREATE INDEX sessions_account_idx ON sessions (account_id, ended_at);
CREATE INDEX sessions_ended_idx ON sessions (ended_at);

CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,              -- SHA-256 of the token, hex
    parent_id BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_parent_idx ON refresh_tokens (parent_id);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor_id BIGINT,
    subject_id BIGINT,
    subject_name TEXT,
    ip TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_kind_idx ON audit_events (kind, id);
CREATE INDEX audit_events_subject_idx ON audit_events (subject_id, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, id);

-- Revocations and role changes, for the other instances: each re-reads the rows of a
-- recent time window (so late commits are not missed) and updates its in-memory view
-- (see sessions::feed).
CREATE TABLE changes (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('session_ended', 'role')),
    session_id TEXT,
    account_id BIGINT,
    role TEXT
);
CREATE INDEX changes_at_idx ON changes (at);
