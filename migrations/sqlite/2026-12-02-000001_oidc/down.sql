DROP TABLE oidc_consents;
DROP TABLE oidc_grants;
DROP TABLE oidc_codes;
DROP TABLE oidc_clients;
DELETE FROM changes WHERE kind = 'token_revoked';
CREATE TABLE changes_old (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('session_ended', 'role')),
    session_id TEXT,
    account_id BIGINT,
    role TEXT,
    detail TEXT
);
INSERT INTO changes_old SELECT id, at, kind, session_id, account_id, role, detail FROM changes;
DROP TABLE changes;
ALTER TABLE changes_old RENAME TO changes;
CREATE INDEX changes_at_idx ON changes (at);
