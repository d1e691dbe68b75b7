-- A project made during the benchmark is withdrawn (seeded ones stay, so
-- that the other scripts never meet a deleted row's foreign key).
DELETE FROM projects WHERE id = (SELECT max(id) FROM projects WHERE id > :projects);
