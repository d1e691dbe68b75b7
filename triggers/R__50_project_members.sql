-- project_members: capture and cascade.
-- A membership is in two documents: projects.members[] and
-- users.project_count. Only the key columns matter (role is not in a
-- document); an UPDATE that moves a key is a delete plus an insert.
-- Inserts and deletes are captured per statement (a bulk load is one
-- INSERT … SELECT into the log); updates per row: a single-row UPDATE, the
-- platform's most common write, costs least that way (no transition tables,
-- no join, one INSERT), and the row's old and new versions are paired.
-- The wake-up check of R__00_common.sql is inlined: a nested function call
-- would cost the write path more than the check itself.

CREATE OR REPLACE FUNCTION sync.capture_project_members() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sync.changes (tbl, op, key1, key2)
        SELECT 'project_members', 'I', project_id, user_id FROM new_rows;
    ELSE
        INSERT INTO sync.changes (tbl, op, key1, key2)
        SELECT 'project_members', 'D', project_id, user_id FROM old_rows;
    END IF;
    IF FOUND AND NOT pg_try_advisory_xact_lock_shared(7261004) THEN  -- sync.wake_syncer(), inlined
        PERFORM pg_notify('hacksync', '');
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION sync.capture_project_members_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.project_id = OLD.project_id AND NEW.user_id = OLD.user_id THEN
        RETURN NULL;
    END IF;
    INSERT INTO sync.changes (tbl, op, key1, key2)
    VALUES ('project_members', 'D', OLD.project_id, OLD.user_id), ('project_members', 'I', NEW.project_id, NEW.user_id);
    IF NOT pg_try_advisory_xact_lock_shared(7261004) THEN  -- sync.wake_syncer(), inlined
        PERFORM pg_notify('hacksync', '');
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS hacksync_insert ON project_members;
DROP TRIGGER IF EXISTS hacksync_update ON project_members;
DROP TRIGGER IF EXISTS hacksync_delete ON project_members;
CREATE TRIGGER hacksync_insert AFTER INSERT ON project_members REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_project_members();
CREATE TRIGGER hacksync_update AFTER UPDATE ON project_members
    FOR EACH ROW EXECUTE FUNCTION sync.capture_project_members_update();
CREATE TRIGGER hacksync_delete AFTER DELETE ON project_members REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_project_members();

CREATE OR REPLACE FUNCTION sync.affected_by_project_members(seqs bigint[]) RETURNS TABLE (entity text, id bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT 'projects', c.key1
    FROM sync.changes c WHERE c.seq = ANY (seqs) AND c.tbl = 'project_members'
    UNION
    SELECT 'users', c.key2
    FROM sync.changes c WHERE c.seq = ANY (seqs) AND c.tbl = 'project_members';
END $$;
