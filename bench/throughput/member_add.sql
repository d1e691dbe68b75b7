-- Someone joins a seeded project (never one the benchmark deletes).
\set p random(1, :projects)
\set u random(1, :users)
INSERT INTO project_members (project_id, user_id) VALUES (:p, :u) ON CONFLICT DO NOTHING;
