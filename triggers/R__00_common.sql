-- Shared pieces of the capture triggers.

-- Wakes the listener. The payload is the statement's range of change-log
-- seqs ("17" or "17-42"), never row data: NOTIFY payloads are capped at 8000
-- bytes and the listener reads the rows themselves anyway.
-- PL/pgSQL rather than SQL: it runs on every captured statement, and
-- plpgsql caches its plans where a non-inlined SQL function is re-planned
-- on each call.
CREATE OR REPLACE FUNCTION sync.notify_range(lo bigint, hi bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF lo IS NOT NULL THEN
        PERFORM pg_notify('hacksync', CASE WHEN lo = hi THEN lo::text ELSE lo || '-' || hi END);
    END IF;
END $$;
