-- A team edits its project's description.
\set p random(1, :projects)
UPDATE projects SET description = 'Edited ' || (random() * 1e6)::int WHERE id = :p;
