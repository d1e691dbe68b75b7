-- One platform write: a user signs up.
INSERT INTO users (username, email, name)
VALUES ('bench-' || :client_id || '-' || txid_current(), 'bench@example.org', 'Bench User');
