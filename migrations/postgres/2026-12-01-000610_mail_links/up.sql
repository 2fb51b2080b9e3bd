-- Mailed links die when what they were issued against changes: each keeps the stamp of
-- its account at issue (a hash of the password hash, the address and its verification,
-- the status and the version), compared when the link is used. Links issued before this
-- migration have no stamp and no longer work.
ALTER TABLE mail_tokens ADD COLUMN stamp TEXT NOT NULL DEFAULT '';

-- An unverified address blocks nobody: only verified addresses are unique (the first to
-- verify wins); an unverified claim keeps its key for look-ups.
DROP INDEX accounts_email_key_idx;
CREATE UNIQUE INDEX accounts_verified_email_key_idx ON accounts (email_key)
    WHERE email_verified_at IS NOT NULL;
CREATE INDEX accounts_email_key_idx ON accounts (email_key);
