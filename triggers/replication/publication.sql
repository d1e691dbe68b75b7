-- On the source (the platform database): publish the platform tables, not
-- HackSync's own `sync` schema. Idempotent; `hacksync replica init` runs it,
-- or by hand: psql "$DATABASE_URL" -f triggers/replication/publication.sql
-- Needs wal_level = logical (see README, "Logical replication").
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'hacksync_platform') THEN
        CREATE PUBLICATION hacksync_platform
            FOR TABLE users, hackathons, hackathon_participants, projects, project_members;
    END IF;
END
$$;
