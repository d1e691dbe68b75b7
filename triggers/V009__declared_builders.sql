-- The document builders are generated from the declarations now, one per
-- document kind and named after it (sync.users_documents, ...: DeclaredSQL.swift).
DROP FUNCTION IF EXISTS sync.user_documents(bigint[]);
DROP FUNCTION IF EXISTS sync.hackathon_documents(bigint[]);
DROP FUNCTION IF EXISTS sync.project_documents(bigint[]);
