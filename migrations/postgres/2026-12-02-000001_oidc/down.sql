DROP TABLE oidc_consents;
DROP TABLE oidc_grants;
DROP TABLE oidc_codes;
DROP TABLE oidc_clients;
DELETE FROM changes WHERE kind = 'token_revoked';
ALTER TABLE changes DROP CONSTRAINT IF EXISTS changes_kind_check;
ALTER TABLE changes ADD CONSTRAINT changes_kind_check CHECK (kind IN ('session_ended', 'role'));
