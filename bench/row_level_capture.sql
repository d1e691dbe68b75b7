-- For the benchmark only: a row-level version of the users capture trigger,
-- to compare against the statement-level one in triggers/R__10_users.sql.
-- Same change rows, one INSERT and one NOTIFY per row instead of per statement.
CREATE OR REPLACE FUNCTION sync.bench_capture_users_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE s bigint;
BEGIN
    INSERT INTO sync.changes (tbl, op, key1) VALUES ('users', 'I', NEW.id) RETURNING seq INTO s;
    PERFORM pg_notify('hacksync', s::text);
    RETURN NULL;
END $$;
