-- When a posted poll message was edited to its final (closed) state: the closer edits each
-- closed poll's messages once, also after a restart that happened past its deadline.
ALTER TABLE postings ADD COLUMN finalised_at INTEGER;

-- Polls closed by /close before this column existed were edited then.
UPDATE postings SET finalised_at = posted_at
 WHERE survey_id IN (SELECT id FROM surveys WHERE status = 'closed');
