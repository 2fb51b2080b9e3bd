DROP INDEX accounts_email_key_idx;
DROP INDEX accounts_verified_email_key_idx;
CREATE UNIQUE INDEX accounts_email_key_idx ON accounts (email_key);
ALTER TABLE mail_tokens DROP COLUMN stamp;
