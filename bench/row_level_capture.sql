-- For the benchmark only: a row-level version of the users capture trigger,
-- to compare against the statement-level one generated for users (DeclaredCapture.swift).
-- Same change rows and wake-up, one INSERT per row instead of per statement.
CREATE OR REPLACE FUNCTION sync.bench_capture_users_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync.changes (tbl, op, key1) VALUES ('users', 'I', NEW.id);
    PERFORM sync.wake_syncer();
    RETURN NULL;
END $$;
