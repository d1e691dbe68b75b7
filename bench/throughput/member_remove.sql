-- Someone leaves a seeded project.
\set p random(1, :projects)
DELETE FROM project_members WHERE (project_id, user_id) IN (
    SELECT project_id, user_id FROM project_members WHERE project_id = :p LIMIT 1);
