-- The listener's read path, as one function so that a batch costs one round trip.

-- Claims up to batch_limit pending changes (skipping those already in
-- flight) and reads every document they affect, with the external version
-- they are written under. `disarm`: the caller was asleep holding the
-- wake-up lock (R__00_common.sql); it is released first, so that captures
-- stop notifying before anything is read.
--
-- Returns one header row (entity IS NULL) carrying the claimed seqs and
-- the capture times of the oldest and newest, then one row per document (doc NULL when
-- the row is gone). No header row at all when nothing is pending.
--
-- VOLATILE matters: in READ COMMITTED each statement of a volatile function
-- takes a new snapshot, so the documents are read after the lock is held and
-- after nextval(). Holding the lock across nextval() and the snapshot makes
-- version order equal snapshot order for every reader (live sync, reindex, a
-- second instance): a larger version is never an older state.
DROP FUNCTION IF EXISTS sync.next_batch(integer, bigint[]);
DROP FUNCTION IF EXISTS sync.next_batch(integer, bigint[], boolean);
CREATE FUNCTION sync.next_batch(batch_limit integer, excluding bigint[], disarm boolean)
RETURNS TABLE (version bigint, seqs bigint[], oldest timestamptz, newest timestamptz, entity text, id bigint, doc text)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v bigint;
    claimed bigint[];
    first_captured timestamptz;
    last_captured timestamptz;
BEGIN
    IF disarm THEN
        PERFORM sync.disarm_wakeup();
    END IF;
    SELECT array_agg(c.seq ORDER BY c.seq), min(c.created_at), max(c.created_at) INTO claimed, first_captured, last_captured
    FROM (SELECT seq, created_at FROM sync.changes
          WHERE processed_at IS NULL AND seq <> ALL (excluding)
          ORDER BY seq LIMIT batch_limit) c;
    IF claimed IS NULL THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(7261001);
    v := nextval('sync.document_version');
    RETURN QUERY SELECT v, claimed, first_captured, last_captured, NULL::text, NULL::bigint, NULL::text;
    RETURN QUERY
        WITH affected AS (SELECT * FROM sync.affected_documents(claimed))
        SELECT v, NULL::bigint[], NULL::timestamptz, NULL::timestamptz, d.entity, d.id, d.doc::text
        FROM sync.read_documents(ARRAY(SELECT a.entity FROM affected a ORDER BY a.entity, a.id),
                                 ARRAY(SELECT a.id FROM affected a ORDER BY a.entity, a.id)) d;
END $$;

DROP FUNCTION IF EXISTS sync.read_affected(bigint[]);
