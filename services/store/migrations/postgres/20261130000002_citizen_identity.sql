-- A citizen's CPR number, given at intake, is never stored in clear text: a keyed hash
-- (HMAC-SHA256) answers "is this citizen already known", and an AEAD-sealed copy is opened only
-- for the roles that may see it.
ALTER TABLE cases ADD COLUMN cpr_hash TEXT;
ALTER TABLE cases ADD COLUMN cpr_sealed TEXT;

CREATE INDEX cases_cpr_hash ON cases (cpr_hash, municipality) WHERE cpr_hash IS NOT NULL;
