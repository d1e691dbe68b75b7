-- One platform write: a user edits their bio (a document column).
\set id random(1, :users)
UPDATE users SET bio = 'bio ' || :client_id || ' ' || random() WHERE id = :id;
