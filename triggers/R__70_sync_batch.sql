-- The listener's read path, as one function so that a batch costs one round trip.

-- Claims pending changes (skipping those already in flight) and reads every
-- document they affect, with the external version they are written under.
--
-- Which changes, as `after` and `skip_oldest` say:
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
-- - `skip_oldest` instead of a seq: the fresh lane beside a backlog claim
--   that is still reading (the first claim of a backlog coalesces it, for
--   a second or more): as above, over the changes beyond the oldest
--   skip_oldest pending, which are the ones that claim takes.
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
-- second instance): a larger version is never an older state. The reindex
-- takes the same lock for its transaction (R__90_operations.sql).
DROP FUNCTION IF EXISTS sync.next_batch(integer, bigint[]);
DROP FUNCTION IF EXISTS sync.next_batch(integer, bigint[], boolean);
DROP FUNCTION IF EXISTS sync.next_batch(integer, bigint[], boolean, bigint);
DROP FUNCTION IF EXISTS sync.next_batch(integer, bigint[], boolean, bigint, integer);
CREATE FUNCTION sync.next_batch(batch_limit integer, excluding bigint[], disarm boolean, after bigint, skip_oldest integer)
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
    representatives bigint[];
BEGIN
    IF disarm THEN
        PERFORM sync.disarm_wakeup();
    END IF;
    SELECT max(c.seq) INTO top FROM sync.changes c;
    IF skip_oldest IS NOT NULL THEN
        -- Beyond the oldest skip_oldest pending: what a backlog claim of that
        -- limit, still reading, takes. Nothing beyond them: nothing to do.
        SELECT c.seq INTO after FROM sync.changes c WHERE c.processed_at IS NULL AND c.seq <> ALL (excluding)
        ORDER BY c.seq OFFSET skip_oldest - 1 LIMIT 1;
        IF after IS NULL THEN
            RETURN;
        END IF;
    END IF;
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
    -- What the batch claims, when its oldest and newest were captured, and
    -- one change of each kind per row (`representatives`: changes of one
    -- row that say the same op, columns and references affect the same
    -- documents, so a row updated 40 times costs the cascades what one
    -- update does), from one read of the claimed rows.
    IF after IS NULL THEN
        -- The picked rows' pending changes (the picked ones among them),
        -- matched by a hash join against every pending change. Changes in
        -- flight are dropped from the few that matched, not while scanning:
        -- `<> ALL` is a linear search of the array, per row scanned (a
        -- 150,000-change backlog and 1,000 seqs in flight made it 150
        -- million comparisons a claim). OFFSET 0 keeps the filter from
        -- being pushed down.
        WITH matched AS (
                 SELECT c.seq, c.created_at, c.tbl, c.key1, c.key2, c.op, c.cols, c.old_ref, c.new_ref, c.doc_entity
                 FROM sync.changes c
                 WHERE c.processed_at IS NULL
                   AND (c.tbl, c.key1, coalesce(c.key2, 0)) IN (
                       SELECT r.tbl, r.key1, coalesce(r.key2, 0) FROM sync.changes r WHERE r.seq = ANY (picked))
                 OFFSET 0),
             u AS (SELECT * FROM matched m WHERE m.seq <> ALL (excluding))
        SELECT (SELECT array_agg(u.seq ORDER BY u.seq) FROM u), (SELECT min(u.created_at) FROM u), (SELECT max(u.created_at) FROM u),
               ARRAY(SELECT min(u.seq) FROM u GROUP BY u.tbl, u.key1, u.key2, u.op, u.cols, u.old_ref, u.new_ref, u.doc_entity)
        INTO claimed, first_captured, last_captured, representatives;
    ELSE
        WITH u AS (SELECT c.seq, c.created_at, c.tbl, c.key1, c.key2, c.op, c.cols, c.old_ref, c.new_ref, c.doc_entity
                   FROM sync.changes c WHERE c.seq = ANY (picked))
        SELECT (SELECT array_agg(u.seq ORDER BY u.seq) FROM u), (SELECT min(u.created_at) FROM u), (SELECT max(u.created_at) FROM u),
               ARRAY(SELECT min(u.seq) FROM u GROUP BY u.tbl, u.key1, u.key2, u.op, u.cols, u.old_ref, u.new_ref, u.doc_entity)
        INTO claimed, first_captured, last_captured, representatives;
    END IF;
    IF claimed IS NULL THEN
        RETURN;
    END IF;
    -- The version lock is held from nextval() until the reading statement
    -- has its snapshot (taken when the statement starts), and no longer: a
    -- session lock, released by the statement's first row, so a backlog
    -- claim reading 2,000 documents does not hold up the fresh lane's claim
    -- for the length of its read. Released on every error path too (a lock
    -- left behind would stop every reader).
    PERFORM pg_advisory_lock(7261001);
    BEGIN
        v := nextval('sync.document_version');
        RETURN QUERY
            -- UNION ALL runs its parts in order: the header row (which releases
            -- the lock) first, then the documents, all under one snapshot.
            WITH affected AS (SELECT * FROM sync.affected_documents(representatives))
            SELECT v, claimed, first_captured, last_captured, top, NULL::text, NULL::bigint, NULL::text
            FROM (SELECT pg_advisory_unlock(7261001)) released
            UNION ALL
            SELECT v, NULL::bigint[], NULL::timestamptz, NULL::timestamptz, NULL::bigint, d.entity, d.id, d.doc::text
            FROM sync.read_documents(ARRAY(SELECT a.entity FROM affected a ORDER BY a.entity, a.id),
                                     ARRAY(SELECT a.id FROM affected a ORDER BY a.entity, a.id)) d;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        PERFORM pg_advisory_unlock(7261001) FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.objid = 7261001 AND l.classid = 0 AND l.objsubid = 1;
        RAISE;
    END;
END $$;

DROP FUNCTION IF EXISTS sync.read_affected(bigint[]);
