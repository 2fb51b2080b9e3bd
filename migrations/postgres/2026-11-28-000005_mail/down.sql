DROP TABLE outbox;
DROP TABLE mail_tokens;
DROP INDEX accounts_email_key_idx;
ALTER TABLE accounts DROP COLUMN lang;
ALTER TABLE accounts DROP COLUMN email_verified_at;
ALTER TABLE accounts DROP COLUMN email_key;
ALTER TABLE accounts DROP COLUMN email;
