-- Groups of accounts, for the apps behind forward auth (`access_rules`, the `groups` claim).
CREATE TABLE groups (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT COLLATE "C" NOT NULL UNIQUE,               -- lower-cased: names are unique in any case
    created_at BIGINT NOT NULL
);
CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, account_id)
);
CREATE INDEX group_members_account_idx ON group_members (account_id);
-- A 'role' row of the change feed now carries the account's groups too (a JSON array):
-- tokens whose role or groups differ from these are refused and renewed.
ALTER TABLE changes ADD COLUMN detail TEXT;
