-- A deleted document keeps its row in sync.documents, with data NULL and
-- the version it was deleted at (a tombstone), instead of losing the row.
-- Settling is then guarded by version alone: a batch read before a newer
-- one, settled after it (the fresh lane claims beside the backlog), makes
-- no event and records nothing for the documents the newer one already
-- recorded, deleted ones included (R__80_settle.sql).
ALTER TABLE sync.documents ALTER COLUMN data DROP NOT NULL;
