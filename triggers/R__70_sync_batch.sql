-- The listener's read path, as one function so that a batch costs one round trip.

-- Claims pending changes (skipping those already in flight) and reads every
-- document they affect, with the external version they are written under.
--
-- Which changes, as `after` says:
-- - NULL, the backlog: the oldest pending, up to batch_limit, and with them
--   every other pending change of the same rows: a row is read once, at its
--   current state, for all of its changes, so a row changed many times
--   across a backlog is written once per batch that meets it, not once per
--   change.
-- - a seq, the fresh lane: only changes above it (captured since an earlier
--   claim looked), newest first, up to batch_limit, on their own. While a
--   backlog drains, the sync claims these beside the backlog's batches, so
--   an edit committed meanwhile does not queue behind the backlog
--   (SyncPipeline). No coalescing here: that scan costs what the backlog
--   costs; a backlog change of the same row is written again later, at the
--   same state, and makes no event.
-- Claiming out of seq order is safe: documents are always read at their
-- current state, under a version drawn after the lock below, so a later
-- batch never writes an older state; and a settle records and announces
-- only states newer than the recorded one (R__80_settle.sql), so events per
-- document stay in order whichever batch settles first. `disarm`: the caller was
-- asleep holding the wake-up lock (R__00_common.sql); it is released first,
-- so that captures stop notifying before anything is read.
--
-- Returns one header row (entity IS NULL) carrying the claimed seqs, the
-- capture times of the oldest and newest, and the horizon (the largest seq
-- in the log before anything was picked: the next fresh claim's `after`),
-- then one row per document (doc NULL when the row is gone). No header row
-- at all when nothing is pending.
--
-- VOLATILE matters: in READ COMMITTED each statement of a volatile function
-- takes a new snapshot, so the documents are read after the lock is held and
-- after nextval(). Holding the lock across nextval() and the snapshot makes
-- version order equal snapshot order for every reader (live sync, reindex, a
-- second instance): a larger version is never an older state.
DROP FUNCTION IF EXISTS sync.next_batch(integer, bigint[]);
DROP FUNCTION IF EXISTS sync.next_batch(integer, bigint[], boolean);
DROP FUNCTION IF EXISTS sync.next_batch(integer, bigint[], boolean, bigint);
CREATE FUNCTION sync.next_batch(batch_limit integer, excluding bigint[], disarm boolean, after bigint)
RETURNS TABLE (version bigint, seqs bigint[], oldest timestamptz, newest timestamptz, horizon bigint,
               entity text, id bigint, doc text)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v bigint;
    top bigint;
    picked bigint[];
    claimed bigint[];
    first_captured timestamptz;
    last_captured timestamptz;
BEGIN
    IF disarm THEN
        PERFORM sync.disarm_wakeup();
    END IF;
    SELECT max(c.seq) INTO top FROM sync.changes c;
    IF after IS NULL THEN
        SELECT array_agg(p.seq) INTO picked
        FROM (SELECT c.seq FROM sync.changes c WHERE c.processed_at IS NULL AND c.seq <> ALL (excluding)
              ORDER BY c.seq LIMIT batch_limit) p;
    ELSE
        SELECT array_agg(p.seq) INTO picked
        FROM (SELECT c.seq FROM sync.changes c
              WHERE c.processed_at IS NULL AND c.seq > after AND c.seq <> ALL (excluding)
              ORDER BY c.seq DESC LIMIT batch_limit) p;
    END IF;
    IF picked IS NULL THEN
        RETURN;
    END IF;
    IF after IS NULL THEN
        -- Two paths (an OR would scan the whole log, processed rows too): the
        -- picked rows by key, and their rows' other pending changes, matched
        -- by a hash join against every pending change. Changes in flight are
        -- dropped from the few that matched, not while scanning: `<> ALL` is
        -- a linear search of the array, per row scanned (a 150,000-change
        -- backlog and 1,000 seqs in flight made it 150 million comparisons
        -- a claim). OFFSET 0 keeps the filter from being pushed down.
        SELECT array_agg(u.seq ORDER BY u.seq), min(u.created_at), max(u.created_at) INTO claimed, first_captured, last_captured
        FROM (SELECT c.seq, c.created_at FROM sync.changes c WHERE c.seq = ANY (picked)
              UNION
              SELECT c.seq, c.created_at FROM sync.changes c
              WHERE c.processed_at IS NULL
                AND (c.tbl, c.key1, coalesce(c.key2, 0)) IN (
                    SELECT r.tbl, r.key1, coalesce(r.key2, 0) FROM sync.changes r WHERE r.seq = ANY (picked))
              OFFSET 0) u
        WHERE u.seq <> ALL (excluding);
    ELSE
        SELECT array_agg(c.seq ORDER BY c.seq), min(c.created_at), max(c.created_at) INTO claimed, first_captured, last_captured
        FROM sync.changes c WHERE c.seq = ANY (picked);
    END IF;
    PERFORM pg_advisory_xact_lock(7261001);
    v := nextval('sync.document_version');
    RETURN QUERY SELECT v, claimed, first_captured, last_captured, top, NULL::text, NULL::bigint, NULL::text;
    RETURN QUERY
        -- The cascades cost per change row; changes of one row that say the
        -- same (op, columns, references) affect the same documents, so one
        -- of each goes in: a row updated 40 times costs what one update does.
        WITH affected AS (SELECT * FROM sync.affected_documents(ARRAY(
                 SELECT DISTINCT ON (c.tbl, c.key1, c.key2, c.op, c.cols, c.old_ref, c.new_ref, c.doc_entity) c.seq
                 FROM sync.changes c WHERE c.seq = ANY (claimed))))
        SELECT v, NULL::bigint[], NULL::timestamptz, NULL::timestamptz, NULL::bigint, d.entity, d.id, d.doc::text
        FROM sync.read_documents(ARRAY(SELECT a.entity FROM affected a ORDER BY a.entity, a.id),
                                 ARRAY(SELECT a.id FROM affected a ORDER BY a.entity, a.id)) d;
END $$;

DROP FUNCTION IF EXISTS sync.read_affected(bigint[]);
