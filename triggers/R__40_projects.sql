-- projects: capture and cascade.
-- Document columns: name, description, repo_url, hackathon_id, created_by.
-- A project is counted in hackathons.project_count: inserts, deletes and
-- moves between hackathons record the hackathon before (old_ref) and after
-- (new_ref) so both hackathon documents are rewritten.

CREATE OR REPLACE FUNCTION sync.capture_projects() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sync.changes (tbl, op, key1, new_ref)
        SELECT 'projects', 'I', id, hackathon_id FROM new_rows ORDER BY id;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO sync.changes (tbl, op, key1, old_ref)
        SELECT 'projects', 'D', id, hackathon_id FROM old_rows ORDER BY id;
    ELSE
        WITH diff AS (
            SELECT coalesce(n.id, o.id) AS id,
                   CASE WHEN o.id IS NULL THEN 'I' WHEN n.id IS NULL THEN 'D' ELSE 'U' END AS op,
                   o.hackathon_id AS old_ref, n.hackathon_id AS new_ref,
                   array_remove(ARRAY[
                       CASE WHEN n.name         IS DISTINCT FROM o.name         THEN 'name' END,
                       CASE WHEN n.description  IS DISTINCT FROM o.description  THEN 'description' END,
                       CASE WHEN n.repo_url     IS DISTINCT FROM o.repo_url     THEN 'repo_url' END,
                       CASE WHEN n.hackathon_id IS DISTINCT FROM o.hackathon_id THEN 'hackathon_id' END,
                       CASE WHEN n.created_by   IS DISTINCT FROM o.created_by   THEN 'created_by' END
                   ], NULL) AS cols
            FROM new_rows n FULL JOIN old_rows o ON o.id = n.id)
        INSERT INTO sync.changes (tbl, op, key1, old_ref, new_ref, cols)
        SELECT 'projects', op::"char", id,
               CASE WHEN op <> 'U' OR 'hackathon_id' = ANY (cols) THEN old_ref END,
               CASE WHEN op <> 'U' OR 'hackathon_id' = ANY (cols) THEN new_ref END,
               CASE WHEN op = 'U' THEN cols END
        FROM diff WHERE op <> 'U' OR cardinality(cols) > 0 ORDER BY id;
    END IF;
    IF FOUND THEN
        PERFORM sync.wake_syncer();
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS hacksync_insert ON projects;
DROP TRIGGER IF EXISTS hacksync_update ON projects;
DROP TRIGGER IF EXISTS hacksync_delete ON projects;
CREATE TRIGGER hacksync_insert AFTER INSERT ON projects REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_projects();
CREATE TRIGGER hacksync_update AFTER UPDATE ON projects REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_projects();
CREATE TRIGGER hacksync_delete AFTER DELETE ON projects REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_projects();

-- Members of a deleted project are deleted by their foreign key and captured
-- on project_members, which rewrites each member's users.project_count.
CREATE OR REPLACE FUNCTION sync.affected_by_projects(seqs bigint[]) RETURNS TABLE (entity text, id bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT 'projects', c.key1
    FROM sync.changes c WHERE c.seq = ANY (seqs) AND c.tbl = 'projects'
    UNION
    SELECT 'hackathons', r.id
    FROM sync.changes c CROSS JOIN LATERAL unnest(ARRAY[c.old_ref, c.new_ref]) AS r (id)
    WHERE c.seq = ANY (seqs) AND c.tbl = 'projects' AND r.id IS NOT NULL;
END $$;
