-- The document event log: one row per document change the sync applied, in
-- commit order. WebSocket subscribers resume from any retained seq.
CREATE TABLE sync.events (
    seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity  text NOT NULL,
    doc_id  bigint NOT NULL,
    op      text NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    -- The document after the change; for a delete, the last document.
    data    jsonb NOT NULL,
    -- When the newest change behind this event was captured (≈ commit time).
    at      timestamptz NOT NULL
);

-- The last state of every document the sync wrote: tells insert from update,
-- gives a delete event its last document, and lets unchanged rewrites (a
-- cascade that changed nothing visible) go without an event.
CREATE TABLE sync.documents (
    entity   text NOT NULL,
    doc_id   bigint NOT NULL,
    data     jsonb NOT NULL,
    version  bigint NOT NULL,
    PRIMARY KEY (entity, doc_id)
);
