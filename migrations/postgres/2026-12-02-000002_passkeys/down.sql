ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE accounts DROP COLUMN passkeys;
DROP TABLE passkey_ceremonies;
DROP TABLE passkeys;
