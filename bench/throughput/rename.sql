-- A user changes their display name: one row, and every project they
-- created or belong to embeds it (a cascade).
\set u random(1, :users)
UPDATE users SET name = 'Renamed ' || :client_id || ' ' || (random() * 1e6)::int WHERE id = :u;
