-- A new project: its document, and its hackathon's project count.
\set h random(1, :hackathons)
\set u random(1, :users)
INSERT INTO projects (hackathon_id, created_by, name, description)
VALUES (:h, :u, 'Bench project ' || :client_id, 'Made during the throughput benchmark.');
