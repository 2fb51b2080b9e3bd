-- The twin of the SQLite migration (PostgreSQL's BIGSERIAL never reuses ids already).
ALTER TABLE sessions ADD COLUMN account_version BIGINT NOT NULL DEFAULT 1;
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
ALTER TABLE refresh_tokens ADD COLUMN used_by TEXT;
ALTER TABLE refresh_tokens ADD COLUMN grace_uses INTEGER NOT NULL DEFAULT 0;
CREATE INDEX refresh_tokens_used_idx ON refresh_tokens (used_at);
CREATE INDEX audit_events_at_idx ON audit_events (at);
