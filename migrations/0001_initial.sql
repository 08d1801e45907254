-- canvass schema, version 1. Never edit once applied; add a new numbered file instead.
-- Times are Unix milliseconds (UTC).

CREATE TABLE surveys (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    -- JSON of the validated core::survey::Survey
    definition  TEXT NOT NULL,
    anonymous   INTEGER NOT NULL CHECK (anonymous IN (0, 1)),
    status      TEXT NOT NULL CHECK (status IN ('draft', 'open', 'closed')),
    source      TEXT NOT NULL CHECK (source IN ('config', 'command', 'import')),
    -- per-survey salt for anonymous respondent keys
    salt        BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    closed_at   INTEGER
);

CREATE TABLE members (
    id               INTEGER PRIMARY KEY,
    platform         TEXT NOT NULL,
    platform_user_id TEXT NOT NULL,
    display_name     TEXT,
    locale           TEXT,
    -- option id of the persona question, asked once and reused
    persona          TEXT,
    first_seen_at    INTEGER NOT NULL,
    UNIQUE (platform, platform_user_id)
);

-- One row per person per survey: linked to a member, or (anonymous surveys) only a salted hash.
CREATE TABLE respondents (
    id            INTEGER PRIMARY KEY,
    survey_id     INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    member_id     INTEGER REFERENCES members (id) ON DELETE CASCADE,
    anon_key      BLOB,
    platform      TEXT NOT NULL,
    -- JSON array of segment names at the latest answer (roles, chat, persona)
    segments      TEXT NOT NULL DEFAULT '[]',
    -- whether the person was new to the community when first answering (brigading checks)
    new_member    INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    CHECK ((member_id IS NULL) <> (anon_key IS NULL)),
    UNIQUE (survey_id, member_id),
    UNIQUE (survey_id, anon_key)
);

-- Append-only answer history: a change supersedes the current row and adds a new one.
CREATE TABLE answers (
    id            INTEGER PRIMARY KEY,
    respondent_id INTEGER NOT NULL REFERENCES respondents (id) ON DELETE CASCADE,
    question_id   TEXT NOT NULL,
    -- JSON of core::answer::AnswerValue
    value         TEXT NOT NULL,
    -- segment of the chat it came from ('private' for private chats)
    chat_segment  TEXT,
    shown_at      INTEGER,
    answered_at   INTEGER NOT NULL,
    superseded_at INTEGER
);
CREATE UNIQUE INDEX answers_current ON answers (respondent_id, question_id)
    WHERE superseded_at IS NULL;
CREATE INDEX answers_by_respondent ON answers (respondent_id);

-- Unfinished work on a question (ranking so far, toggles, pairwise picks) and private flow state.
CREATE TABLE drafts (
    respondent_id INTEGER NOT NULL REFERENCES respondents (id) ON DELETE CASCADE,
    question_id   TEXT NOT NULL,
    state         TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (respondent_id, question_id)
);

CREATE TABLE flows (
    respondent_id INTEGER PRIMARY KEY REFERENCES respondents (id) ON DELETE CASCADE,
    state         TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- A member waiting to answer the persona question before a survey starts.
CREATE TABLE pending_persona (
    member_id  INTEGER PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    survey_id  INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

-- Where a survey was posted, so counters can be refreshed and taps checked against the chat.
CREATE TABLE postings (
    id         INTEGER PRIMARY KEY,
    survey_id  INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    platform   TEXT NOT NULL,
    chat_id    TEXT NOT NULL,
    message_id TEXT,
    posted_at  INTEGER NOT NULL,
    UNIQUE (survey_id, platform, chat_id)
);

-- Idempotency: every inbound platform event id, recorded in the same transaction as its effects.
CREATE TABLE processed_events (
    event_id     TEXT PRIMARY KEY,
    processed_at INTEGER NOT NULL
) WITHOUT ROWID;
