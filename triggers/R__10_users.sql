-- users: capture and cascade.
-- Document columns: username, email, name, bio, skills, college.
-- Embedded elsewhere: projects.members[] {username, name}, projects.created_by {username}.
-- Inserts and deletes are captured per statement (a bulk load is one
-- INSERT … SELECT into the log); updates per row: a single-row UPDATE, the
-- platform's most common write, costs least that way (no transition tables,
-- no join, one INSERT), and the row's old and new versions are paired.
-- The wake-up check of R__00_common.sql is inlined: a nested function call
-- would cost the write path more than the check itself.

CREATE OR REPLACE FUNCTION sync.capture_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sync.changes (tbl, op, key1)
        SELECT 'users', 'I', id FROM new_rows ORDER BY id;
    ELSE
        INSERT INTO sync.changes (tbl, op, key1)
        SELECT 'users', 'D', id FROM old_rows ORDER BY id;
    END IF;
    IF FOUND AND NOT pg_try_advisory_xact_lock_shared(7261004) THEN  -- sync.wake_syncer(), inlined
        PERFORM pg_notify('hacksync', '');
    END IF;
    RETURN NULL;
END $$;

-- Only document columns whose value changed make a change row; an id that
-- changed is a delete of the old document and an insert of the new one.
CREATE OR REPLACE FUNCTION sync.capture_users_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE cols text[];
BEGIN
    IF NEW.id <> OLD.id THEN
        INSERT INTO sync.changes (tbl, op, key1) VALUES ('users', 'D', OLD.id), ('users', 'I', NEW.id);
    ELSE
        IF NEW.username IS DISTINCT FROM OLD.username THEN cols := cols || 'username'::text; END IF;
        IF NEW.email    IS DISTINCT FROM OLD.email    THEN cols := cols || 'email'::text; END IF;
        IF NEW.name     IS DISTINCT FROM OLD.name     THEN cols := cols || 'name'::text; END IF;
        IF NEW.bio      IS DISTINCT FROM OLD.bio      THEN cols := cols || 'bio'::text; END IF;
        IF NEW.skills   IS DISTINCT FROM OLD.skills   THEN cols := cols || 'skills'::text; END IF;
        IF NEW.college  IS DISTINCT FROM OLD.college  THEN cols := cols || 'college'::text; END IF;
        IF cols IS NULL THEN
            RETURN NULL;
        END IF;
        INSERT INTO sync.changes (tbl, op, key1, cols) VALUES ('users', 'U', NEW.id, cols);
    END IF;
    IF NOT pg_try_advisory_xact_lock_shared(7261004) THEN  -- sync.wake_syncer(), inlined
        PERFORM pg_notify('hacksync', '');
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS hacksync_insert ON users;
DROP TRIGGER IF EXISTS hacksync_update ON users;
DROP TRIGGER IF EXISTS hacksync_delete ON users;
CREATE TRIGGER hacksync_insert AFTER INSERT ON users REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_users();
CREATE TRIGGER hacksync_update AFTER UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION sync.capture_users_update();
CREATE TRIGGER hacksync_delete AFTER DELETE ON users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_users();

-- Which documents the given users changes affect. A delete needs no cascade
-- here: memberships and participations are deleted by their foreign keys and
-- projects.created_by is set to NULL, and each of those writes is captured.
CREATE OR REPLACE FUNCTION sync.affected_by_users(seqs bigint[]) RETURNS TABLE (entity text, id bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT 'users', c.key1
    FROM sync.changes c WHERE c.seq = ANY (seqs) AND c.tbl = 'users'
    UNION
    SELECT 'projects', pm.project_id
    FROM sync.changes c JOIN project_members pm ON pm.user_id = c.key1
    WHERE c.seq = ANY (seqs) AND c.tbl = 'users' AND c.op = 'U' AND c.cols && '{username,name}'
    UNION
    SELECT 'projects', p.id
    FROM sync.changes c JOIN projects p ON p.created_by = c.key1
    WHERE c.seq = ANY (seqs) AND c.tbl = 'users' AND c.op = 'U' AND c.cols && '{username}';
END $$;
