-- hackathon_participants: capture and cascade.
-- A participation is in two documents: hackathons.participant_count and
-- users.hackathons[]. Only the key columns matter; an UPDATE that keeps both
-- keys (joined_at) produces no change, one that moves a key is a delete of
-- the old pair and an insert of the new one.

CREATE OR REPLACE FUNCTION sync.capture_hackathon_participants() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sync.changes (tbl, op, key1, key2)
        SELECT 'hackathon_participants', 'I', hackathon_id, user_id FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO sync.changes (tbl, op, key1, key2)
        SELECT 'hackathon_participants', 'D', hackathon_id, user_id FROM old_rows;
    ELSE
        INSERT INTO sync.changes (tbl, op, key1, key2)
        SELECT 'hackathon_participants',
               CASE WHEN o.hackathon_id IS NULL THEN 'I' ELSE 'D' END::"char",
               coalesce(n.hackathon_id, o.hackathon_id), coalesce(n.user_id, o.user_id)
        FROM new_rows n FULL JOIN old_rows o
          ON o.hackathon_id = n.hackathon_id AND o.user_id = n.user_id
        WHERE o.hackathon_id IS NULL OR n.hackathon_id IS NULL;
    END IF;
    IF FOUND THEN
        PERFORM sync.wake_syncer();
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS hacksync_insert ON hackathon_participants;
DROP TRIGGER IF EXISTS hacksync_update ON hackathon_participants;
DROP TRIGGER IF EXISTS hacksync_delete ON hackathon_participants;
CREATE TRIGGER hacksync_insert AFTER INSERT ON hackathon_participants REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_hackathon_participants();
CREATE TRIGGER hacksync_update AFTER UPDATE ON hackathon_participants REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_hackathon_participants();
CREATE TRIGGER hacksync_delete AFTER DELETE ON hackathon_participants REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_hackathon_participants();

CREATE OR REPLACE FUNCTION sync.affected_by_hackathon_participants(seqs bigint[]) RETURNS TABLE (entity text, id bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT 'hackathons', c.key1
    FROM sync.changes c WHERE c.seq = ANY (seqs) AND c.tbl = 'hackathon_participants'
    UNION
    SELECT 'users', c.key2
    FROM sync.changes c WHERE c.seq = ANY (seqs) AND c.tbl = 'hackathon_participants';
END $$;
