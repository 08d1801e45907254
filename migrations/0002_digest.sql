-- Digest deliveries: one row per period (a schedule slot, in local time) and destination, so
-- each is posted exactly once across restarts. 'sending' left over from a crash becomes
-- 'uncertain' and is never resent automatically: a duplicate brief is worse than a missing one.
CREATE TABLE digest_deliveries (
    period          TEXT NOT NULL,
    destination     TEXT NOT NULL,
    slot_at         INTEGER NOT NULL,
    status          TEXT NOT NULL
        CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'uncertain', 'skipped')),
    late            INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    PRIMARY KEY (period, destination)
);
