-- For the benchmark only: the floor of any capture that writes a row in the
-- writer's transaction. A row-level trigger whose whole body is one INSERT of
-- a narrow row into a table without indexes: no column comparison, no
-- wake-up check, no index to find pending rows by. What HackSync's capture
-- costs above this is what it could still cut; what this costs, no capture
-- that writes a change row inside the writing transaction can avoid.
CREATE TABLE IF NOT EXISTS public.bench_floor_log (
    seq  bigint GENERATED ALWAYS AS IDENTITY,
    tbl  text NOT NULL,
    op   "char" NOT NULL,
    key1 bigint NOT NULL
);
CREATE OR REPLACE FUNCTION public.bench_floor_capture() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.bench_floor_log (tbl, op, key1) VALUES ('users', 'U', NEW.id);
    RETURN NULL;
END $$;
