-- Activity events brought in from another system (`hacksync import events`),
-- and the import's own bookkeeping.

-- A platform table like the others: the capture follows it (the declared
-- activity_count and last_activity_at of users and projects). id is the
-- source's id; user_id and project_id are set when the record names a
-- user or project this platform has (the record itself is in payload).
CREATE TABLE activity_events (
    id          text PRIMARY KEY,
    kind        text,
    user_id     bigint REFERENCES users (id) ON DELETE SET NULL,
    project_id  bigint REFERENCES projects (id) ON DELETE SET NULL,
    occurred_at timestamptz NOT NULL,
    payload     jsonb NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);
-- The documents' count and latest: one index range per document.
CREATE INDEX activity_events_user ON activity_events (user_id, occurred_at) WHERE user_id IS NOT NULL;
CREATE INDEX activity_events_project ON activity_events (project_id, occurred_at) WHERE project_id IS NOT NULL;

-- How many rows of a detail table (one only counted and aggregated per
-- document, such as activity_events) reference each document, kept by its
-- capture triggers (DeclaredCapture) so that a document's count is one
-- lookup, not a scan of its rows: with 3,000 events per user, counting
-- them made a batch of 1,000 user documents take 20 s to read.
CREATE TABLE sync.detail_counts (
    tbl text NOT NULL,
    fk  text NOT NULL,
    id  bigint NOT NULL,
    n   bigint NOT NULL,
    PRIMARY KEY (tbl, fk, id)
);

-- One row per import (by name): its checkpoint, written in the same
-- transaction as each page's rows, so a rerun after a crash continues
-- exactly where the last committed page ended.
CREATE TABLE sync.imports (
    name            text PRIMARY KEY,
    source          text NOT NULL,
    state           text NOT NULL DEFAULT 'running'
                    CHECK (state IN ('running', 'finished', 'failed')),
    -- Where the next page starts: the source's cursor (NULL: the first
    -- page), when it was handed out, and how long the source said it lives.
    next_cursor     text,
    cursor_at       timestamptz,
    cursor_ttl      interval,
    -- The source's id of the last record committed (records come in id
    -- order), for recovering from an expired cursor.
    last_id         text,
    pages           bigint NOT NULL DEFAULT 0,
    records         bigint NOT NULL DEFAULT 0,
    inserted        bigint NOT NULL DEFAULT 0,
    duplicates      bigint NOT NULL DEFAULT 0,
    dead_lettered   bigint NOT NULL DEFAULT 0,
    rate_limited    bigint NOT NULL DEFAULT 0,
    retries         bigint NOT NULL DEFAULT 0,
    cursor_recoveries bigint NOT NULL DEFAULT 0,
    -- The source's own count of records, when it announces one.
    total           bigint,
    error           text,
    started_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);

-- Records the import could not take (a timestamp in no known format, no
-- id), kept with the raw JSON the source sent.
CREATE TABLE sync.import_dead_letters (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    import_name text NOT NULL,
    source_id   text,
    reason      text NOT NULL,
    raw         text NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT now()
);
-- A record sent twice (a page read again) is dead-lettered once.
CREATE UNIQUE INDEX import_dead_letters_once ON sync.import_dead_letters (import_name, md5(raw));
