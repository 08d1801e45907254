-- Digest delivery per part: each message of a brief (a text chunk, the chart) is claimed before
-- it is sent and recorded after, so a retry sends only what is missing and never a part twice.
-- The parts are stored as rendered for the first attempt, so a retry sends the same text.
-- A part left 'sending' by a crash becomes 'uncertain' and is never resent.
-- Never edit once applied; add a new numbered file instead.
CREATE TABLE digest_parts (
    period      TEXT NOT NULL,
    destination TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    label       TEXT NOT NULL,
    body        TEXT,
    image       BLOB,
    status      TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'uncertain')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    sent_at     INTEGER,
    PRIMARY KEY (period, destination, seq),
    FOREIGN KEY (period, destination) REFERENCES digest_deliveries (period, destination)
);

-- When this install began (the app records its clock's time at the first start on a fresh
-- database): a digest slot before it was never due, so a fresh install does not post the
-- previous slot's digest late. A database that already holds data counts from its oldest.
CREATE TABLE install (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    installed_at INTEGER NOT NULL
);
INSERT INTO install (id, installed_at)
    SELECT 1, MIN(t) FROM (
        SELECT MIN(created_at) AS t FROM surveys
        UNION ALL SELECT MIN(slot_at) FROM digest_deliveries
        UNION ALL SELECT MIN(answered_at) FROM answers
    ) HAVING MIN(t) IS NOT NULL;
