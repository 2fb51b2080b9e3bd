-- Rotation keeps O(1) rows per session: every refresh token issued from now on starts
-- with its session's random family handle (the session keeps the handle's hash), so a
-- token whose row was deleted is still known as an old one of that session: reuse. Only
-- the newest used token and its child are kept (`in_family`); tokens issued before this
-- migration are kept as they were until the retention prune.
ALTER TABLE sessions ADD COLUMN refresh_family TEXT;
CREATE UNIQUE INDEX sessions_refresh_family_idx ON sessions (refresh_family);
ALTER TABLE refresh_tokens ADD COLUMN in_family BOOLEAN NOT NULL DEFAULT FALSE;

-- Failure counts live only as long as their hour window and their lock.
CREATE INDEX login_attempts_hour_idx ON login_attempts (hour_start);
-- At most a few pending second steps per account.
CREATE INDEX pending_sign_ins_account_idx ON pending_sign_ins (account_id, created_at);

-- One row that /readyz writes when writes have been failing, to see them work again.
CREATE TABLE write_probe (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL
);
INSERT INTO write_probe (id, at) VALUES (1, 0);
