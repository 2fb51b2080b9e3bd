-- E-mail addresses (unique in any case; verified by a link), the account's language for
-- mail, one-time links (stored hashed), and the outbox of mail to send.
ALTER TABLE accounts ADD COLUMN email TEXT;
ALTER TABLE accounts ADD COLUMN email_key TEXT;
ALTER TABLE accounts ADD COLUMN email_verified_at BIGINT;
ALTER TABLE accounts ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';
CREATE UNIQUE INDEX accounts_email_key_idx ON accounts (email_key);

CREATE TABLE mail_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,        -- SHA-256 of the token in the link
    kind TEXT NOT NULL,                          -- verify_email, reset_password, invitation
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email TEXT NOT NULL,                         -- the address the link was sent to
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX mail_tokens_account_idx ON mail_tokens (account_id, kind);

-- Written in the same transaction as the event that causes the mail; a sender on each
-- instance claims rows (a lease), sends, and marks them, retrying with growing waits.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    account_id BIGINT,
    to_address TEXT NOT NULL,
    lang TEXT NOT NULL,
    data TEXT NOT NULL,                          -- JSON: what the message says (links until sent)
    created_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT,
    sent_at BIGINT,
    failed_at BIGINT,
    last_error TEXT
);
CREATE INDEX outbox_due_idx ON outbox (sent_at, failed_at, next_attempt_at);
