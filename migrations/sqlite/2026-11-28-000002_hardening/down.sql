DROP INDEX audit_events_at_idx;
DROP INDEX refresh_tokens_used_idx;
ALTER TABLE refresh_tokens DROP COLUMN grace_uses;
ALTER TABLE refresh_tokens DROP COLUMN used_by;
DROP INDEX sessions_expires_idx;
ALTER TABLE sessions DROP COLUMN account_version;
