-- Operations on the sync: re-sync requests, dead-letter resolutions,
-- index rebuild jobs.

-- A change row with tbl = 'refresh' asks the sync to read and write one
-- document again (dead-letter retry, reconciliation repair). doc_entity
-- names the document kind; key1 is its id.
ALTER TABLE sync.changes ADD COLUMN doc_entity text
    CHECK (doc_entity IN ('users', 'hackathons', 'projects'));
ALTER TABLE sync.changes ADD CONSTRAINT refresh_names_a_document
    CHECK ((tbl = 'refresh') = (doc_entity IS NOT NULL));

-- How a dead letter was closed: the document synced later, or an operator
-- discarded it.
ALTER TABLE sync.dead_letters ADD COLUMN resolution text
    CHECK (resolution IN ('synced', 'discarded'));
UPDATE sync.dead_letters SET resolution = 'synced' WHERE resolved_at IS NOT NULL;
ALTER TABLE sync.dead_letters ADD CONSTRAINT resolved_with_a_reason
    CHECK ((resolved_at IS NULL) = (resolution IS NULL));

-- Index builds: a zero-downtime reindex into a new index (mode 'reindex'),
-- or a rebuild of an index that lost its documents (mode 'rebuild').
-- The row is the checkpoint: a runner killed mid-copy is resumed from
-- last_id by the next one.
CREATE TABLE sync.index_jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity       text NOT NULL CHECK (entity IN ('users', 'hackathons', 'projects')),
    mode         text NOT NULL CHECK (mode IN ('reindex', 'rebuild')),
    target_index text NOT NULL,
    -- Changes not visible in this snapshot are applied after the copy.
    snapshot     pg_snapshot NOT NULL,
    phase        text NOT NULL DEFAULT 'copying'
                 CHECK (phase IN ('copying', 'catching_up', 'done', 'failed')),
    last_id      bigint NOT NULL DEFAULT 0,
    copied       bigint NOT NULL DEFAULT 0,
    total        bigint NOT NULL DEFAULT 0,
    reason       text NOT NULL DEFAULT '',
    error        text,
    started_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
-- At most one unfinished job per document kind.
CREATE UNIQUE INDEX index_jobs_one_active ON sync.index_jobs (entity) WHERE finished_at IS NULL;
