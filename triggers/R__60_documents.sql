-- The search documents, built by Postgres as JSON in one query per batch.
-- These read functions are PL/pgSQL so their plans are cached per session
-- (a SQL function used in FROM is planned again on every call: milliseconds
-- per batch on the sync's hot path).
-- Their shape must match the document declarations
-- (Sources/Model/DocumentDeclarations.swift), which the index mappings are
-- generated from; DeclarationTests check that they do.

CREATE OR REPLACE FUNCTION sync.user_documents(ids bigint[]) RETURNS TABLE (id bigint, doc jsonb)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT u.id, jsonb_build_object(
        'id', u.id,
        'username', u.username,
        'name', u.name,
        'email', u.email,
        'bio', u.bio,
        'skills', u.skills,
        'college', u.college,
        'hackathons', coalesce(h.list, '[]'::jsonb),
        'project_count', m.n)
    FROM users u
    CROSS JOIN LATERAL (
        SELECT jsonb_agg(jsonb_build_object('id', hk.id, 'name', hk.name) ORDER BY hk.id) AS list
        FROM hackathon_participants hp JOIN hackathons hk ON hk.id = hp.hackathon_id
        WHERE hp.user_id = u.id) h
    CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM project_members pm WHERE pm.user_id = u.id) m
    WHERE u.id = ANY (ids);
END $$;

CREATE OR REPLACE FUNCTION sync.hackathon_documents(ids bigint[]) RETURNS TABLE (id bigint, doc jsonb)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT hk.id, jsonb_build_object(
        'id', hk.id,
        'name', hk.name,
        'starts_at', hk.starts_at,
        'ends_at', hk.ends_at,
        'location', hk.location,
        'tracks', hk.tracks,
        'participant_count', pc.n,
        'project_count', pr.n)
    FROM hackathons hk
    CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM hackathon_participants hp WHERE hp.hackathon_id = hk.id) pc
    CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM projects p WHERE p.hackathon_id = hk.id) pr
    WHERE hk.id = ANY (ids);
END $$;

CREATE OR REPLACE FUNCTION sync.project_documents(ids bigint[]) RETURNS TABLE (id bigint, doc jsonb)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT p.id, jsonb_build_object(
        'id', p.id,
        'name', p.name,
        'description', p.description,
        'repo_url', p.repo_url,
        'hackathon', jsonb_build_object('id', hk.id, 'name', hk.name),
        'members', coalesce(m.list, '[]'::jsonb),
        'created_by', CASE WHEN cb.id IS NULL THEN NULL
                           ELSE jsonb_build_object('id', cb.id, 'username', cb.username) END)
    FROM projects p
    JOIN hackathons hk ON hk.id = p.hackathon_id
    LEFT JOIN users cb ON cb.id = p.created_by
    CROSS JOIN LATERAL (
        SELECT jsonb_agg(jsonb_build_object('id', u.id, 'username', u.username, 'name', u.name) ORDER BY u.id) AS list
        FROM project_members pm JOIN users u ON u.id = pm.user_id
        WHERE pm.project_id = p.id) m
    WHERE p.id = ANY (ids);
END $$;

-- Every document a batch of changes affects, cascades included. One place
-- per table (the affected_by_* functions beside each capture trigger), plus
-- the documents named by re-sync requests (tbl = 'refresh').
CREATE OR REPLACE FUNCTION sync.affected_documents(seqs bigint[]) RETURNS TABLE (entity text, id bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT * FROM sync.affected_by_users(seqs)
    UNION SELECT * FROM sync.affected_by_hackathons(seqs)
    UNION SELECT * FROM sync.affected_by_hackathon_participants(seqs)
    UNION SELECT * FROM sync.affected_by_projects(seqs)
    UNION SELECT * FROM sync.affected_by_project_members(seqs)
    UNION SELECT c.doc_entity, c.key1 FROM sync.changes c WHERE c.seq = ANY (seqs) AND c.tbl = 'refresh';
END $$;

-- The current state of the given documents; doc is NULL for a document whose
-- row no longer exists (it is deleted from the index).
CREATE OR REPLACE FUNCTION sync.read_documents(entities text[], ids bigint[]) RETURNS TABLE (entity text, id bigint, doc jsonb)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH wanted AS (SELECT * FROM unnest(entities, ids) AS w (entity, id))
    SELECT w.entity, w.id, coalesce(u.doc, h.doc, p.doc)
    FROM wanted w
    LEFT JOIN sync.user_documents(ARRAY(SELECT id FROM wanted WHERE entity = 'users')) u
           ON w.entity = 'users' AND u.id = w.id
    LEFT JOIN sync.hackathon_documents(ARRAY(SELECT id FROM wanted WHERE entity = 'hackathons')) h
           ON w.entity = 'hackathons' AND h.id = w.id
    LEFT JOIN sync.project_documents(ARRAY(SELECT id FROM wanted WHERE entity = 'projects')) p
           ON w.entity = 'projects' AND p.id = w.id;
END $$;
