-- projects: capture and cascade.
-- Document columns: name, description, repo_url, hackathon_id, created_by.
-- A project is counted in hackathons.project_count: inserts, deletes and
-- moves between hackathons record the hackathon before (old_ref) and after
-- (new_ref) so both hackathon documents are rewritten.
-- Inserts and deletes are captured per statement (a bulk load is one
-- INSERT … SELECT into the log); updates per row: a single-row UPDATE, the
-- platform's most common write, costs least that way (no transition tables,
-- no join, one INSERT), and the row's old and new versions are paired.
-- The wake-up check of R__00_common.sql is inlined: a nested function call
-- would cost the write path more than the check itself.

CREATE OR REPLACE FUNCTION sync.capture_projects() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sync.changes (tbl, op, key1, new_ref)
        SELECT 'projects', 'I', id, hackathon_id FROM new_rows ORDER BY id;
    ELSE
        INSERT INTO sync.changes (tbl, op, key1, old_ref)
        SELECT 'projects', 'D', id, hackathon_id FROM old_rows ORDER BY id;
    END IF;
    IF FOUND AND NOT pg_try_advisory_xact_lock_shared(7261004) THEN  -- sync.wake_syncer(), inlined
        PERFORM pg_notify('hacksync', '');
    END IF;
    RETURN NULL;
END $$;

-- Only document columns whose value changed make a change row; an id that
-- changed is a delete of the old document and an insert of the new one.
CREATE OR REPLACE FUNCTION sync.capture_projects_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cols text[];
    old_ref bigint;
    new_ref bigint;
BEGIN
    IF NEW.id <> OLD.id THEN
        INSERT INTO sync.changes (tbl, op, key1, old_ref, new_ref)
        VALUES ('projects', 'D', OLD.id, OLD.hackathon_id, NULL), ('projects', 'I', NEW.id, NULL, NEW.hackathon_id);
    ELSE
        IF NEW.name         IS DISTINCT FROM OLD.name         THEN cols := cols || 'name'::text; END IF;
        IF NEW.description  IS DISTINCT FROM OLD.description  THEN cols := cols || 'description'::text; END IF;
        IF NEW.repo_url     IS DISTINCT FROM OLD.repo_url     THEN cols := cols || 'repo_url'::text; END IF;
        IF NEW.hackathon_id IS DISTINCT FROM OLD.hackathon_id THEN cols := cols || 'hackathon_id'::text; old_ref := OLD.hackathon_id; new_ref := NEW.hackathon_id; END IF;
        IF NEW.created_by   IS DISTINCT FROM OLD.created_by   THEN cols := cols || 'created_by'::text; END IF;
        IF cols IS NULL THEN
            RETURN NULL;
        END IF;
        INSERT INTO sync.changes (tbl, op, key1, old_ref, new_ref, cols)
        VALUES ('projects', 'U', NEW.id, old_ref, new_ref, cols);
    END IF;
    IF NOT pg_try_advisory_xact_lock_shared(7261004) THEN  -- sync.wake_syncer(), inlined
        PERFORM pg_notify('hacksync', '');
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS hacksync_insert ON projects;
DROP TRIGGER IF EXISTS hacksync_update ON projects;
DROP TRIGGER IF EXISTS hacksync_delete ON projects;
CREATE TRIGGER hacksync_insert AFTER INSERT ON projects REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_projects();
CREATE TRIGGER hacksync_update AFTER UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION sync.capture_projects_update();
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
