-- The listener's reads, as functions so that each is one round trip.

-- Reads every document the given changes affect, with the external version
-- they are written under. VOLATILE matters: in READ COMMITTED each statement
-- of a volatile function takes a new snapshot, so the documents are read
-- after the lock is held and after nextval(). Holding the lock across
-- nextval() and the snapshot means version order equals snapshot order for
-- every reader (live sync, reindex, a second instance): a larger version is
-- never an older state.
CREATE OR REPLACE FUNCTION sync.read_affected(seqs bigint[])
RETURNS TABLE (version bigint, entity text, id bigint, doc text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE v bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7261001);
    v := nextval('sync.document_version');
    RETURN QUERY
        WITH affected AS (SELECT * FROM sync.affected_documents(seqs))
        SELECT v, d.entity, d.id, d.doc::text
        FROM sync.read_documents(ARRAY(SELECT a.entity FROM affected a ORDER BY a.entity, a.id),
                                 ARRAY(SELECT a.id FROM affected a ORDER BY a.entity, a.id)) d;
END $$;
