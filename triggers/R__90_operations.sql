-- Operations: re-sync requests, index builds (copy pages and catch-up),
-- retention. See Sources/Server/Operations.

-- Asks the sync to read and write the given documents again (a dead-letter
-- retry, a reconciliation repair): one 'refresh' change row per document,
-- drained by the listener like any other change.
CREATE OR REPLACE FUNCTION sync.request_refresh(doc_kind text, ids bigint[]) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE n integer;
BEGIN
    INSERT INTO sync.changes (tbl, op, key1, doc_entity)
    SELECT 'refresh', 'U', i, doc_kind FROM unnest(ids) AS i ORDER BY i;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM sync.wake_syncer();
    END IF;
    RETURN n;
END $$;

-- The ids of one document kind after after_id, in id order (keyset pagination).
CREATE OR REPLACE FUNCTION sync.next_ids(doc_kind text, after_id bigint, page_limit integer) RETURNS bigint[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    CASE doc_kind
    WHEN 'users' THEN
        RETURN ARRAY(SELECT t.id FROM users t WHERE t.id > after_id ORDER BY t.id LIMIT page_limit);
    WHEN 'hackathons' THEN
        RETURN ARRAY(SELECT t.id FROM hackathons t WHERE t.id > after_id ORDER BY t.id LIMIT page_limit);
    WHEN 'projects' THEN
        RETURN ARRAY(SELECT t.id FROM projects t WHERE t.id > after_id ORDER BY t.id LIMIT page_limit);
    END CASE;
END $$;

-- One page of an index build: the documents of one kind after after_id,
-- with the external version they are written under. The version is taken
-- under the same lock as sync.next_batch, before the documents are read, so
-- the copy and the live sync can write the same index in any order.
CREATE OR REPLACE FUNCTION sync.read_page(doc_kind text, after_id bigint, page_limit integer)
RETURNS TABLE (version bigint, id bigint, doc text)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE v bigint; wanted bigint[];
BEGIN
    PERFORM pg_advisory_xact_lock(7261001);
    v := nextval('sync.document_version');
    wanted := sync.next_ids(doc_kind, after_id, page_limit);
    RETURN QUERY
    SELECT v, d.id, d.doc::text
    FROM sync.read_documents(array_fill(doc_kind, ARRAY[cardinality(wanted)]), wanted) d
    ORDER BY d.id;
END $$;

-- The catch-up of an index build: documents of one kind touched by changes
-- that were not visible in `since` and are visible now, read now. The header
-- row (id NULL) carries the version and the snapshot the next catch-up
-- starts from. Every change is covered by exactly one of: the copy (visible
-- in the job's first snapshot) or a catch-up.
CREATE OR REPLACE FUNCTION sync.catch_up(doc_kind text, since pg_snapshot)
RETURNS TABLE (version bigint, upto pg_snapshot, id bigint, doc text)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE v bigint; current_snapshot pg_snapshot; changed bigint[]; wanted bigint[];
BEGIN
    current_snapshot := pg_current_snapshot();
    changed := ARRAY(SELECT c.seq FROM sync.changes c
                     WHERE c.xid >= pg_snapshot_xmin(since)
                       AND NOT pg_visible_in_snapshot(c.xid, since)
                       AND pg_visible_in_snapshot(c.xid, current_snapshot));
    wanted := ARRAY(SELECT DISTINCT a.id FROM sync.affected_documents(changed) a WHERE a.entity = doc_kind ORDER BY a.id);
    PERFORM pg_advisory_xact_lock(7261001);
    v := nextval('sync.document_version');
    RETURN QUERY SELECT v, current_snapshot, NULL::bigint, NULL::text;
    RETURN QUERY
    SELECT v, NULL::pg_snapshot, d.id, d.doc::text
    FROM sync.read_documents(array_fill(doc_kind, ARRAY[cardinality(wanted)]), wanted) d;
END $$;

-- Retention: deletes up to chunk processed change-log rows and events that
-- are older than max_age or beyond the newest max_rows, keeping the changes
-- an unfinished index job still has to catch up on. Returns what it deleted;
-- call again while it deletes a full chunk.
CREATE OR REPLACE FUNCTION sync.prune(max_age interval, max_rows bigint, chunk integer)
RETURNS TABLE (changes bigint, events bigint)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    keep_from xid8;
    change_cutoff bigint;
    event_cutoff bigint;
    n_changes bigint;
    n_events bigint;
BEGIN
    SELECT min(pg_snapshot_xmin(j.snapshot)) INTO keep_from FROM sync.index_jobs j WHERE j.finished_at IS NULL;
    -- By count: everything processed up to the max_rows-th newest processed row.
    SELECT c.seq INTO change_cutoff FROM sync.changes c
    WHERE c.processed_at IS NOT NULL ORDER BY c.seq DESC OFFSET max_rows LIMIT 1;
    WITH doomed AS (
        SELECT c.seq FROM sync.changes c
        WHERE c.processed_at IS NOT NULL
          AND (c.processed_at < now() - max_age OR c.seq <= coalesce(change_cutoff, 0))
          AND (keep_from IS NULL OR c.xid < keep_from)
        ORDER BY c.seq LIMIT chunk),
    gone AS (DELETE FROM sync.changes c USING doomed d WHERE c.seq = d.seq RETURNING 1)
    SELECT count(*) INTO n_changes FROM gone;

    SELECT greatest(
        (SELECT e.seq FROM sync.events e WHERE e.at < now() - max_age ORDER BY e.seq DESC LIMIT 1),
        (SELECT e.seq FROM sync.events e ORDER BY e.seq DESC OFFSET max_rows LIMIT 1))
    INTO event_cutoff;
    WITH doomed AS (SELECT e.seq FROM sync.events e WHERE e.seq <= event_cutoff ORDER BY e.seq LIMIT chunk),
    gone AS (DELETE FROM sync.events e USING doomed d WHERE e.seq = d.seq RETURNING 1)
    SELECT count(*) INTO n_events FROM gone;
    RETURN QUERY SELECT n_changes, n_events;
END $$;

-- Replaced by sync.wake_syncer (R__00_common.sql); dropped here, after every caller was replaced.
DROP FUNCTION IF EXISTS sync.notify_range(bigint, bigint);
