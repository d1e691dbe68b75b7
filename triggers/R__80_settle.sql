-- Parks documents the index refused in the dead-letter table (a new entry,
-- or one more attempt on the open or resolved entry of that document).
CREATE OR REPLACE FUNCTION sync.park(
    entities text[], ids bigint[], docs text[], error_types text[], reasons text[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    INSERT INTO sync.dead_letters AS d (entity, doc_id, error_type, error_reason, document)
    SELECT r.entity, r.doc_id, r.error_type, r.reason, r.doc::jsonb
    FROM unnest(entities, ids, docs, error_types, reasons) AS r (entity, doc_id, doc, error_type, reason)
    ON CONFLICT (entity, doc_id) DO UPDATE SET
        error_type = excluded.error_type, error_reason = excluded.error_reason,
        document = excluded.document, attempts = d.attempts + 1,
        last_seen = now(), resolved_at = NULL, resolution = NULL;
END $$;

-- An event as the sync and the realtime hub read it (from a settle, or from
-- the log for a replay): texts ready for the wire, each with its public view
-- (NULL when the document has no private fields: sync.private_fields is
-- generated from the document declarations, DeclaredSQL.swift).
CREATE OR REPLACE FUNCTION sync.event_wire(e sync.events,
    OUT seq bigint, OUT entity text, OUT id bigint, OUT op text, OUT at text,
    OUT data text, OUT changed text, OUT previous text,
    OUT public_data text, OUT public_changed text, OUT public_previous text)
LANGUAGE sql STABLE AS $$
    SELECT e.seq, e.entity, e.doc_id, e.op, to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           e.data::text, to_jsonb(e.changed)::text, e.previous::text,
           CASE WHEN p IS NOT NULL THEN (e.data - p)::text END,
           CASE WHEN p IS NOT NULL AND e.changed IS NOT NULL
                THEN to_jsonb(ARRAY(SELECT c FROM unnest(e.changed) c WHERE c <> ALL (p)))::text END,
           CASE WHEN p IS NOT NULL THEN (e.previous - p)::text END
    FROM (SELECT sync.private_fields(e.entity) AS p) private
$$;

-- Settling a written batch, in one round trip and one transaction: mark its
-- changes processed, park rejected documents, record the document events
-- and the documents' last state. Returns the new events in seq order, as
-- sync.event_wire reads them. An event says what changed: the top-level
-- fields that differ from the recorded state (the previous event's), with
-- their earlier values (V008__event_changes.sql).
--
-- The sync settles batches one at a time, mostly in the order it read them;
-- a fresh-lane batch can be read after a backlog batch and settle before it.
-- So every document is compared by version with its recorded state (a
-- deleted one keeps a tombstone: data NULL, V007): a state older than the
-- recorded one makes no event and records nothing. A document's events
-- therefore follow its versions, which follow snapshot order.
-- Only the leader settles (sync.assert_leader, R__75_leadership.sql): a
-- leader deposed while it wrote a batch fails here and settles nothing.
-- Every settle is announced on the channel 'hacksync_events': every
-- instance's hub follows the event log and reads the new events
-- (EventFollower), and read-your-writes waiters look again (WriteWaits).
DROP FUNCTION IF EXISTS sync.settle(bigint[], bigint, timestamptz, text[], bigint[], text[], text[], bigint[], text[], text[], text[]);
CREATE FUNCTION sync.settle(
    seqs bigint[],
    doc_version bigint,
    event_at timestamptz,
    entities text[], ids bigint[], docs text[],                  -- applied documents (doc NULL: deleted)
    rejected_entities text[], rejected_ids bigint[], rejected_docs text[],
    rejected_types text[], rejected_reasons text[])
RETURNS TABLE (seq bigint, entity text, id bigint, op text, at text, data text, changed text, previous text,
               public_data text, public_changed text, public_previous text)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    PERFORM sync.assert_leader();
    UPDATE sync.changes SET processed_at = clock_timestamp() WHERE sync.changes.seq = ANY (seqs);

    PERFORM sync.park(rejected_entities, rejected_ids, rejected_docs, rejected_types, rejected_reasons);

    -- A document written successfully resolves its dead-letter entry.
    UPDATE sync.dead_letters d SET resolved_at = now(), resolution = 'synced'
    FROM unnest(entities, ids) AS a (entity, doc_id)
    WHERE d.resolved_at IS NULL AND d.entity = a.entity AND d.doc_id = a.doc_id;

    RETURN QUERY
    WITH input AS (
        SELECT i.entity, i.doc_id, i.doc::jsonb AS doc
        FROM unnest(entities, ids, docs) AS i (entity, doc_id, doc)),
    compared AS (
        SELECT i.entity, i.doc_id, i.doc, d.data AS old,
               CASE WHEN i.doc IS NULL THEN CASE WHEN d.data IS NULL THEN NULL ELSE 'delete' END
                    WHEN d.data IS NULL THEN 'insert'
                    WHEN d.data = i.doc THEN NULL
                    ELSE 'update' END AS op
        FROM input i LEFT JOIN sync.documents d ON d.entity = i.entity AND d.doc_id = i.doc_id
        WHERE d.version IS NULL OR d.version <= doc_version),
    upserted AS (
        INSERT INTO sync.documents AS d (entity, doc_id, data, version)
        SELECT c.entity, c.doc_id, c.doc, doc_version FROM compared c
        ON CONFLICT (entity, doc_id) DO UPDATE SET data = excluded.data, version = excluded.version
        WHERE d.version <= excluded.version),
    -- What an update changed, in one pass over the keys: those of the new
    -- state whose value differs, and those only the old state has (a key
    -- set union would sort both, twice as slow: make bench-changed).
    described AS (
        SELECT c.*,
               CASE c.op
                   WHEN 'insert' THEN ARRAY(SELECT k FROM jsonb_object_keys(c.doc) k ORDER BY k COLLATE "C")
                   WHEN 'update' THEN d.changed
               END AS changed,
               CASE c.op WHEN 'update' THEN d.previous WHEN 'delete' THEN c.old END AS previous
        FROM compared c
        CROSS JOIN LATERAL (
            SELECT array_agg(k ORDER BY k COLLATE "C") AS changed,
                   jsonb_object_agg(k, coalesce(c.old -> k, 'null'::jsonb)) AS previous
            FROM (SELECT k FROM jsonb_object_keys(c.doc) k WHERE c.doc -> k IS DISTINCT FROM c.old -> k
                  UNION ALL
                  SELECT k FROM jsonb_object_keys(c.old) k WHERE NOT c.doc ? k) keys
            WHERE c.op = 'update') d
        WHERE c.op IS NOT NULL),
    inserted AS (
        INSERT INTO sync.events AS e (entity, doc_id, op, data, at, changed, previous)
        SELECT x.entity, x.doc_id, x.op, coalesce(x.doc, x.old), event_at, x.changed, x.previous
        FROM described x
        ORDER BY x.entity, x.doc_id
        RETURNING e)
    SELECT w.* FROM inserted i, LATERAL sync.event_wire(i.e) w ORDER BY w.seq;
    -- Announced after every settle, with events or not: read-your-writes
    -- waiters on every instance look again (WriteWaits).
    PERFORM pg_notify('hacksync_events', '');
END $$;
