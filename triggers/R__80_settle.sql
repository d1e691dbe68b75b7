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

-- Settling a written batch, in one round trip and one transaction: mark its
-- changes processed, park rejected documents, record the document events
-- and the documents' last state. Returns the new events in seq order.
--
-- The sync settles batches one at a time, mostly in the order it read them;
-- a fresh-lane batch can be read after a backlog batch and settle before it.
-- So every document is compared by version with its recorded state (a
-- deleted one keeps a tombstone: data NULL, V007): a state older than the
-- recorded one makes no event and records nothing. A document's events
-- therefore follow its versions, which follow snapshot order.
-- Only the leader settles (sync.assert_leader, R__75_leadership.sql): a
-- leader deposed while it wrote a batch fails here and settles nothing.
-- New events are announced on the channel 'hacksync_events': every
-- instance's hub follows the event log and reads them (EventFollower).
CREATE OR REPLACE FUNCTION sync.settle(
    seqs bigint[],
    doc_version bigint,
    event_at timestamptz,
    entities text[], ids bigint[], docs text[],                  -- applied documents (doc NULL: deleted)
    rejected_entities text[], rejected_ids bigint[], rejected_docs text[],
    rejected_types text[], rejected_reasons text[])
RETURNS TABLE (seq bigint, entity text, id bigint, op text, data text, public_data text, at timestamptz)
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
    inserted AS (
        INSERT INTO sync.events (entity, doc_id, op, data, at)
        SELECT c.entity, c.doc_id, c.op, coalesce(c.doc, c.old), event_at
        FROM compared c WHERE c.op IS NOT NULL
        ORDER BY c.entity, c.doc_id
        RETURNING sync.events.seq, sync.events.entity, sync.events.doc_id, sync.events.op, sync.events.data, sync.events.at)
    SELECT e.seq, e.entity, e.doc_id, e.op, e.data::text,
           CASE WHEN e.entity = 'users' THEN (e.data - 'email')::text END,
           e.at
    FROM inserted e ORDER BY e.seq;
    IF FOUND THEN
        PERFORM pg_notify('hacksync_events', '');
    END IF;
END $$;
