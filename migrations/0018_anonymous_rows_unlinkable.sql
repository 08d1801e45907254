-- Anonymous rows must not be linkable by time or position to the same member's named rows,
-- written in the same moment: their times keep only the UTC day (no time shown), and their row
-- ids become random negative numbers (new rows get them from the store; negative so that
-- SQLite's next id for a named row, the largest so far plus one, never follows them). Never edit once applied; add a
-- new numbered file instead.
PRAGMA defer_foreign_keys = ON;

UPDATE answers
   SET answered_at = (answered_at / 86400000) * 86400000,
       shown_at = NULL,
       superseded_at = CASE WHEN superseded_at IS NULL THEN NULL
                            ELSE (superseded_at / 86400000) * 86400000 END,
       id = -((random() & 9223372036854775807) | 1)
 WHERE respondent_id IN (SELECT id FROM respondents WHERE anon_key IS NOT NULL);
UPDATE drafts SET updated_at = (updated_at / 86400000) * 86400000
 WHERE respondent_id IN (SELECT id FROM respondents WHERE anon_key IS NOT NULL);
UPDATE flows SET updated_at = (updated_at / 86400000) * 86400000
 WHERE respondent_id IN (SELECT id FROM respondents WHERE anon_key IS NOT NULL);
UPDATE respondents SET created_at = (created_at / 86400000) * 86400000
 WHERE anon_key IS NOT NULL;

CREATE TEMP TABLE anon_ids AS
    SELECT id AS old, -((random() & 9223372036854775807) | 1) AS new
      FROM respondents WHERE anon_key IS NOT NULL;
UPDATE answers SET respondent_id = (SELECT new FROM anon_ids WHERE old = respondent_id)
 WHERE respondent_id IN (SELECT old FROM anon_ids);
UPDATE drafts SET respondent_id = (SELECT new FROM anon_ids WHERE old = respondent_id)
 WHERE respondent_id IN (SELECT old FROM anon_ids);
UPDATE flows SET respondent_id = (SELECT new FROM anon_ids WHERE old = respondent_id)
 WHERE respondent_id IN (SELECT old FROM anon_ids);
UPDATE respondents SET id = (SELECT new FROM anon_ids WHERE old = id)
 WHERE id IN (SELECT old FROM anon_ids);
DROP TABLE anon_ids;
