-- HackSync's own state lives in schema "sync", apart from the platform's tables.

CREATE SCHEMA IF NOT EXISTS sync;

-- The durable change log. Capture triggers append one row per changed row in
-- the writer's transaction; the listener claims rows whose processed_at is
-- NULL. Claiming unprocessed rows (rather than following an "id > last seen"
-- cursor) is what makes skipping impossible: a transaction that took a small
-- seq and commits late is simply still unprocessed when it becomes visible.
CREATE TABLE sync.changes (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tbl          text NOT NULL,            -- source table
    op           "char" NOT NULL CHECK (op IN ('I', 'U', 'D')),
    key1         bigint NOT NULL,          -- id, or the first key of a join table
    key2         bigint,                   -- second key of a join table
    old_ref      bigint,                   -- a referenced id before the change (projects: hackathon_id)
    new_ref      bigint,                   -- the same reference after the change
    cols         text[],                   -- document columns an UPDATE changed
    xid          xid8 NOT NULL DEFAULT pg_current_xact_id(),
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    processed_at timestamptz
);

-- The listener's scan reads only this small index: pending rows.
CREATE INDEX changes_pending ON sync.changes (seq) WHERE processed_at IS NULL;
CREATE INDEX changes_processed_at ON sync.changes (processed_at) WHERE processed_at IS NOT NULL;

-- External versions for Elasticsearch. Every read of document state takes
-- the next value while holding sync.version_lock, so a larger version always
-- belongs to a later snapshot: an older state can never overwrite a newer one.
CREATE SEQUENCE sync.document_version;

-- Documents Elasticsearch rejected for a reason retrying cannot fix.
CREATE TABLE sync.dead_letters (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity        text NOT NULL,
    doc_id        bigint NOT NULL,
    error_type    text NOT NULL,
    error_reason  text NOT NULL,
    document      jsonb,
    attempts      integer NOT NULL DEFAULT 1,
    first_seen    timestamptz NOT NULL DEFAULT now(),
    last_seen     timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz,
    UNIQUE (entity, doc_id)
);
