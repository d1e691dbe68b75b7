-- project_members: capture and cascade.
-- A membership is in two documents: projects.members[] and
-- users.project_count. Only the key columns matter (role is not in a
-- document); an UPDATE that moves a key is a delete plus an insert.

CREATE OR REPLACE FUNCTION sync.capture_project_members() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sync.changes (tbl, op, key1, key2)
        SELECT 'project_members', 'I', project_id, user_id FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO sync.changes (tbl, op, key1, key2)
        SELECT 'project_members', 'D', project_id, user_id FROM old_rows;
    ELSE
        INSERT INTO sync.changes (tbl, op, key1, key2)
        SELECT 'project_members',
               CASE WHEN o.project_id IS NULL THEN 'I' ELSE 'D' END::"char",
               coalesce(n.project_id, o.project_id), coalesce(n.user_id, o.user_id)
        FROM new_rows n FULL JOIN old_rows o
          ON o.project_id = n.project_id AND o.user_id = n.user_id
        WHERE o.project_id IS NULL OR n.project_id IS NULL;
    END IF;
    IF FOUND THEN
        PERFORM sync.wake_syncer();
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS hacksync_insert ON project_members;
DROP TRIGGER IF EXISTS hacksync_update ON project_members;
DROP TRIGGER IF EXISTS hacksync_delete ON project_members;
CREATE TRIGGER hacksync_insert AFTER INSERT ON project_members REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_project_members();
CREATE TRIGGER hacksync_update AFTER UPDATE ON project_members REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_project_members();
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
