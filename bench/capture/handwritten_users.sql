-- The hand-written users capture as it was before the declarations (ca99b06,
-- triggers/R__10_users.sql): bench-capture's 'handwritten' mode installs it in
-- place of the generated functions of the same names, and restores those after.
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
