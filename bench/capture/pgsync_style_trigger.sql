-- For the benchmark only: the peer reference. A row-level trigger that
-- NOTIFYs every row with its keys as JSON, the way PGSync's trigger does
-- (it writes no log table; its channel is the database's name).
CREATE OR REPLACE FUNCTION public.bench_peer_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_row json;
    new_row json;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        old_row := json_build_object('id', OLD.id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        new_row := json_build_object('id', NEW.id);
    END IF;
    PERFORM pg_notify(current_database(), json_build_object(
        'xmin', txid_current(), 'new', new_row, 'old', old_row,
        'tg_op', TG_OP, 'table', TG_TABLE_NAME, 'schema', TG_TABLE_SCHEMA)::text);
    RETURN NULL;
END $$;
