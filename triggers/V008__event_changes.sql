-- What an event changed: the top-level fields whose value differs from the
-- state the document's previous event carried (an insert: all of them; a
-- delete: none), and their earlier values (an update: those fields; a
-- delete: the last document; an insert: none). Computed once, in the
-- settle (R__80_settle.sql), and replayed with the event.
ALTER TABLE sync.events ADD COLUMN changed text[], ADD COLUMN previous jsonb;
