-- hackathons: capture and cascade.
-- Document columns: name, starts_at, ends_at, location, tracks.
-- Embedded elsewhere: projects.hackathon {name}, users.hackathons[] {name}.

CREATE OR REPLACE FUNCTION sync.capture_hackathons() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sync.changes (tbl, op, key1)
        SELECT 'hackathons', 'I', id FROM new_rows ORDER BY id;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO sync.changes (tbl, op, key1)
        SELECT 'hackathons', 'D', id FROM old_rows ORDER BY id;
    ELSE
        WITH diff AS (
            SELECT coalesce(n.id, o.id) AS id,
                   CASE WHEN o.id IS NULL THEN 'I' WHEN n.id IS NULL THEN 'D' ELSE 'U' END AS op,
                   array_remove(ARRAY[
                       CASE WHEN n.name      IS DISTINCT FROM o.name      THEN 'name' END,
                       CASE WHEN n.starts_at IS DISTINCT FROM o.starts_at THEN 'starts_at' END,
                       CASE WHEN n.ends_at   IS DISTINCT FROM o.ends_at   THEN 'ends_at' END,
                       CASE WHEN n.location  IS DISTINCT FROM o.location  THEN 'location' END,
                       CASE WHEN n.tracks    IS DISTINCT FROM o.tracks    THEN 'tracks' END
                   ], NULL) AS cols
            FROM new_rows n FULL JOIN old_rows o ON o.id = n.id)
        INSERT INTO sync.changes (tbl, op, key1, cols)
        SELECT 'hackathons', op::"char", id, CASE WHEN op = 'U' THEN cols END
        FROM diff WHERE op <> 'U' OR cardinality(cols) > 0 ORDER BY id;
    END IF;
    IF FOUND THEN
        PERFORM sync.wake_syncer();
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS hacksync_insert ON hackathons;
DROP TRIGGER IF EXISTS hacksync_update ON hackathons;
DROP TRIGGER IF EXISTS hacksync_delete ON hackathons;
CREATE TRIGGER hacksync_insert AFTER INSERT ON hackathons REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_hackathons();
CREATE TRIGGER hacksync_update AFTER UPDATE ON hackathons REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_hackathons();
CREATE TRIGGER hacksync_delete AFTER DELETE ON hackathons REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_hackathons();

-- A delete cascades through the foreign keys (projects, participants), and
-- those writes are captured on their own tables.
CREATE OR REPLACE FUNCTION sync.affected_by_hackathons(seqs bigint[]) RETURNS TABLE (entity text, id bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT 'hackathons', c.key1
    FROM sync.changes c WHERE c.seq = ANY (seqs) AND c.tbl = 'hackathons'
    UNION
    SELECT 'projects', p.id
    FROM sync.changes c JOIN projects p ON p.hackathon_id = c.key1
    WHERE c.seq = ANY (seqs) AND c.tbl = 'hackathons' AND c.op = 'U' AND c.cols && '{name}'
    UNION
    SELECT 'users', hp.user_id
    FROM sync.changes c JOIN hackathon_participants hp ON hp.hackathon_id = c.key1
    WHERE c.seq = ANY (seqs) AND c.tbl = 'hackathons' AND c.op = 'U' AND c.cols && '{name}';
END $$;
