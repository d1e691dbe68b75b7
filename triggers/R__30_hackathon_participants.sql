-- hackathon_participants: capture and cascade.
-- A participation is in two documents: hackathons.participant_count and
-- users.hackathons[]. Only the key columns matter; an UPDATE that keeps both
-- keys (joined_at) produces no change, one that moves a key is a delete of
-- the old pair and an insert of the new one.
-- Inserts and deletes are captured per statement (a bulk load is one
-- INSERT … SELECT into the log); updates per row: a single-row UPDATE, the
-- platform's most common write, costs least that way (no transition tables,
-- no join, one INSERT), and the row's old and new versions are paired.
-- The wake-up check of R__00_common.sql is inlined: a nested function call
-- would cost the write path more than the check itself.

CREATE OR REPLACE FUNCTION sync.capture_hackathon_participants() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sync.changes (tbl, op, key1, key2)
        SELECT 'hackathon_participants', 'I', hackathon_id, user_id FROM new_rows;
    ELSE
        INSERT INTO sync.changes (tbl, op, key1, key2)
        SELECT 'hackathon_participants', 'D', hackathon_id, user_id FROM old_rows;
    END IF;
    IF FOUND AND NOT pg_try_advisory_xact_lock_shared(7261004) THEN  -- sync.wake_syncer(), inlined
        PERFORM pg_notify('hacksync', '');
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sync.capture_hackathon_participants_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.hackathon_id = OLD.hackathon_id AND NEW.user_id = OLD.user_id THEN
        RETURN NULL;
    END IF;
    INSERT INTO sync.changes (tbl, op, key1, key2)
    VALUES ('hackathon_participants', 'D', OLD.hackathon_id, OLD.user_id), ('hackathon_participants', 'I', NEW.hackathon_id, NEW.user_id);
    IF NOT pg_try_advisory_xact_lock_shared(7261004) THEN  -- sync.wake_syncer(), inlined
        PERFORM pg_notify('hacksync', '');
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS hacksync_insert ON hackathon_participants;
DROP TRIGGER IF EXISTS hacksync_update ON hackathon_participants;
DROP TRIGGER IF EXISTS hacksync_delete ON hackathon_participants;
CREATE TRIGGER hacksync_insert AFTER INSERT ON hackathon_participants REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_hackathon_participants();
CREATE TRIGGER hacksync_update AFTER UPDATE ON hackathon_participants
    FOR EACH ROW EXECUTE FUNCTION sync.capture_hackathon_participants_update();
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
