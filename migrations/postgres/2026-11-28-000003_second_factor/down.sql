ALTER TABLE sessions DROP COLUMN reauth_at;
DROP TABLE pending_sign_ins;
DROP TABLE recovery_codes;
ALTER TABLE accounts DROP COLUMN recovery_used_at;
ALTER TABLE accounts DROP COLUMN totp_last_step;
ALTER TABLE accounts DROP COLUMN totp_enabled_at;
ALTER TABLE accounts DROP COLUMN totp_secret;
