-- Anonymous respondent keys become keyed hashes: HMAC-SHA-256 with an operator key that is
-- never stored here, over the old salted SHA-256. Rows written before this migration hold the
-- old, unkeyed value (anyone with this file could recompute it for every member id): they are
-- marked here and re-keyed in place at the next start that has the key (`Store::with_anon_key`),
-- so existing anonymous answers keep counting and a later change still replaces them.
-- Never edit once applied; add a new numbered file instead.
ALTER TABLE respondents ADD COLUMN anon_legacy INTEGER NOT NULL DEFAULT 0;
UPDATE respondents SET anon_legacy = 1 WHERE anon_key IS NOT NULL;

-- A fingerprint of the key the anonymous keys were made with (HMAC of a fixed text: it does not
-- reveal the key), so a start with a different key is noticed and logged.
CREATE TABLE anon_key_check (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint BLOB NOT NULL,
    set_at      INTEGER NOT NULL
);
