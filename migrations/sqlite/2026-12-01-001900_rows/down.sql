DROP TABLE write_probe;
DROP INDEX pending_sign_ins_account_idx;
DROP INDEX login_attempts_hour_idx;
ALTER TABLE refresh_tokens DROP COLUMN in_family;
DROP INDEX sessions_refresh_family_idx;
ALTER TABLE sessions DROP COLUMN refresh_family;
