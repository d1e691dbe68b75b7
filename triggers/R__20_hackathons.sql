-- hackathons: capture and cascade.
-- Document columns: name, starts_at, ends_at, location, tracks.
-- Embedded elsewhere: projects.hackathon {name}, users.hackathons[] {name}.
-- Inserts and deletes are captured per statement (a bulk load is one
-- INSERT … SELECT into the log); updates per row: a single-row UPDATE, the
-- platform's most common write, costs least that way (no transition tables,
-- no join, one INSERT), and the row's old and new versions are paired.
-- The wake-up check of R__00_common.sql is inlined: a nested function call
-- would cost the write path more than the check itself.

CREATE OR REPLACE FUNCTION sync.capture_hackathons() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO sync.changes (tbl, op, key1)
        SELECT 'hackathons', 'I', id FROM new_rows ORDER BY id;
    ELSE
        INSERT INTO sync.changes (tbl, op, key1)
        SELECT 'hackathons', 'D', id FROM old_rows ORDER BY id;
    END IF;
    IF FOUND AND NOT pg_try_advisory_xact_lock_shared(7261004) THEN  -- sync.wake_syncer(), inlined
        PERFORM pg_notify('hacksync', '');
    END IF;
    RETURN NULL;
END $$;

-- Only document columns whose value changed make a change row; an id that
-- changed is a delete of the old document and an insert of the new one.
CREATE OR REPLACE FUNCTION sync.capture_hackathons_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE cols text[];
BEGIN
    IF NEW.id <> OLD.id THEN
        INSERT INTO sync.changes (tbl, op, key1) VALUES ('hackathons', 'D', OLD.id), ('hackathons', 'I', NEW.id);
    ELSE
        IF NEW.name      IS DISTINCT FROM OLD.name      THEN cols := cols || 'name'::text; END IF;
        IF NEW.starts_at IS DISTINCT FROM OLD.starts_at THEN cols := cols || 'starts_at'::text; END IF;
        IF NEW.ends_at   IS DISTINCT FROM OLD.ends_at   THEN cols := cols || 'ends_at'::text; END IF;
        IF NEW.location  IS DISTINCT FROM OLD.location  THEN cols := cols || 'location'::text; END IF;
        IF NEW.tracks    IS DISTINCT FROM OLD.tracks    THEN cols := cols || 'tracks'::text; END IF;
        IF cols IS NULL THEN
            RETURN NULL;
        END IF;
        INSERT INTO sync.changes (tbl, op, key1, cols) VALUES ('hackathons', 'U', NEW.id, cols);
    END IF;
    IF NOT pg_try_advisory_xact_lock_shared(7261004) THEN  -- sync.wake_syncer(), inlined
        PERFORM pg_notify('hacksync', '');
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS hacksync_insert ON hackathons;
DROP TRIGGER IF EXISTS hacksync_update ON hackathons;
DROP TRIGGER IF EXISTS hacksync_delete ON hackathons;
CREATE TRIGGER hacksync_insert AFTER INSERT ON hackathons REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sync.capture_hackathons();
CREATE TRIGGER hacksync_update AFTER UPDATE ON hackathons
    FOR EACH ROW EXECUTE FUNCTION sync.capture_hackathons_update();
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
