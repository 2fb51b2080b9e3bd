-- The PostgreSQL twin of migrations/sqlite: same tables, columns and indexes.
-- Times are Unix seconds (UTC). username_key uses the "C" collation so that prefix
-- ranges and keyset pagination follow byte order, as on SQLite.
CREATE TABLE accounts (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL,
    username_key TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    version BIGINT NOT NULL DEFAULT 1,
    last_login_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX accounts_role_idx ON accounts (role, username_key);
CREATE INDEX accounts_disabled_idx ON accounts (disabled, username_key);

CREATE TABLE login_attempts (
    username_key TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    consecutive INTEGER NOT NULL,
    locked_until BIGINT,
    hour_start BIGINT NOT NULL,
    hour_failures INTEGER NOT NULL
);
CREATE INDEX login_attempts_locked_idx ON login_attempts (locked_until);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    remember BOOLEAN NOT NULL,
    user_agent TEXT NOT NULL,
    ip TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT,
    end_reason TEXT
);
CREATE INDEX sessions_account_idx ON sessions (account_id, ended_at);
CREATE INDEX sessions_ended_idx ON sessions (ended_at);

CREATE TABLE refresh_tokens (
    id BIGSERIAL PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    parent_id BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_parent_idx ON refresh_tokens (parent_id);

CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
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

CREATE TABLE changes (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('session_ended', 'role')),
    session_id TEXT,
    account_id BIGINT,
    role TEXT
);
CREATE INDEX changes_at_idx ON changes (at);
