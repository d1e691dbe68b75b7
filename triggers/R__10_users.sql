-- users: capture and cascade.
-- Document columns: username, email, name, bio, skills, college.
-- Embedded elsewhere: projects.members[] {username, name}, projects.created_by {username}.

CREATE OR REPLACE FUNCTION sync.capture_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sync.changes (tbl, op, key1)
        SELECT 'users', 'I', id FROM new_rows ORDER BY id;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO sync.changes (tbl, op, key1)
        SELECT 'users', 'D', id FROM old_rows ORDER BY id;
    ELSE
        WITH diff AS (
            SELECT coalesce(n.id, o.id) AS id,
                   CASE WHEN o.id IS NULL THEN 'I' WHEN n.id IS NULL THEN 'D' ELSE 'U' END AS op,
                   array_remove(ARRAY[
                       CASE WHEN n.username IS DISTINCT FROM o.username THEN 'username' END,
                       CASE WHEN n.email    IS DISTINCT FROM o.email    THEN 'email' END,
                       CASE WHEN n.name     IS DISTINCT FROM o.name     THEN 'name' END,
                       CASE WHEN n.bio      IS DISTINCT FROM o.bio      THEN 'bio' END,
                       CASE WHEN n.skills   IS DISTINCT FROM o.skills   THEN 'skills' END,
                       CASE WHEN n.college  IS DISTINCT FROM o.college  THEN 'college' END
                   ], NULL) AS cols
            FROM new_rows n FULL JOIN old_rows o ON o.id = n.id)
        INSERT INTO sync.changes (tbl, op, key1, cols)
        SELECT 'users', op::"char", id, CASE WHEN op = 'U' THEN cols END
        FROM diff WHERE op <> 'U' OR cardinality(cols) > 0 ORDER BY id;
    END IF;
    IF FOUND THEN
        PERFORM sync.wake_syncer();
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS hacksync_insert ON users;
DROP TRIGGER IF EXISTS hacksync_update ON users;
DROP TRIGGER IF EXISTS hacksync_delete ON users;
CREATE TRIGGER hacksync_insert AFTER INSERT ON users REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_users();
CREATE TRIGGER hacksync_update AFTER UPDATE ON users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_users();
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
