import Foundation
import Import
import Postgres

/// An import's rows in Postgres: its checkpoint (`sync.imports`), the
/// pages it writes into `activity_events`, its dead letters. A page and
/// the checkpoint after it commit in one transaction: whenever the
/// process dies, the checkpoint names exactly the pages that are in.
struct ImportStore {
    let connection: PostgresConnection
    let name: String

    /// Where the import stands, as of its last committed page.
    struct Checkpoint: Sendable {
        var state: String
        var cursor: String?
        /// Wall-clock seconds when the source handed the cursor out.
        var cursorAt: Double?
        var cursorTTL: Double?
        var lastID: String?
        var progress = ImportProgress()
    }

    /// Holds the import's lock for the connection's life: false when
    /// another process runs the same import.
    func lock() async throws -> Bool {
        try await connection.query("SELECT pg_try_advisory_lock(hashtextextended('hacksync.import:' || $1, 0))", [name]).scalar == "t"
    }

    /// The checkpoint, created for a new import; `restart` starts a
    /// finished (or any) import from the first page again (rows already
    /// imported stay and are matched by id).
    func open(source: String, restart: Bool) async throws -> Checkpoint {
        try await connection.query("INSERT INTO sync.imports (name, source) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", [name, source])
        if restart {
            try await connection.query("""
                UPDATE sync.imports SET state = 'running', next_cursor = NULL, cursor_at = NULL, cursor_ttl = NULL, last_id = NULL,
                    pages = 0, records = 0, inserted = 0, duplicates = 0, dead_lettered = 0, rate_limited = 0, retries = 0,
                    cursor_recoveries = 0, total = NULL, error = NULL, started_at = now(), updated_at = now(), finished_at = NULL
                WHERE name = $1
                """, [name])
        }
        let rows = try await connection.query("""
            SELECT state, next_cursor, \(PostgresRows.epoch("cursor_at")), extract(epoch FROM cursor_ttl)::float8, last_id,
                   pages, records, inserted, duplicates, dead_lettered, rate_limited, retries, cursor_recoveries, total, source
            FROM sync.imports WHERE name = $1
            """, [name])
        let row = rows.rows[0]
        var checkpoint = Checkpoint(state: row[0] ?? "running", cursor: row[1], cursorAt: row.double(2), cursorTTL: row.double(3), lastID: row[4])
        checkpoint.progress.pages = row.int64(5) ?? 0
        checkpoint.progress.records = row.int64(6) ?? 0
        checkpoint.progress.inserted = row.int64(7) ?? 0
        checkpoint.progress.duplicates = row.int64(8) ?? 0
        checkpoint.progress.deadLettered = row.int64(9) ?? 0
        checkpoint.progress.rateLimited = row.int64(10) ?? 0
        checkpoint.progress.retries = row.int64(11) ?? 0
        checkpoint.progress.cursorRecoveries = row.int64(12) ?? 0
        checkpoint.progress.total = row.int64(13)
        if checkpoint.state != "finished" {
            try await connection.query("UPDATE sync.imports SET state = 'running', source = $2, error = NULL, updated_at = now() WHERE name = $1", [name, source])
            checkpoint.state = "running"
        }
        return checkpoint
    }

    /// The staging table a page is copied into (per session, emptied at commit).
    func prepare() async throws {
        try await connection.execute("""
            CREATE TEMP TABLE IF NOT EXISTS import_staging (
                ordinal int, id text, kind text, user_id bigint, project_id bigint, occurred_at timestamptz, payload jsonb
            ) ON COMMIT DELETE ROWS
            """)
    }

    /// Writes pages (`pages` of them, their records in order) and the
    /// checkpoint after the last, in one transaction.
    /// Records are upserted by id (the last of a page's copies wins; a row
    /// that did not change is not rewritten, so it makes no change-log row);
    /// `user_id`/`project_id` are kept only when they name a row this
    /// platform has. Returns the checkpoint as committed.
    func commit(_ records: [ActivityRecord], rejected: [ActivityRecord.Rejection], pages: Int, after checkpoint: Checkpoint) async throws -> Checkpoint {
        var copy = PostgresCopyText(reservingCapacity: records.count * 320)
        for (ordinal, record) in records.enumerated() {
            copy.row(String(ordinal), record.id, record.kind, record.userID.map(String.init), record.projectID.map(String.init),
                     record.occurredAt.description, record.payload)
        }
        return try await connection.transaction { connection in
            var committed = checkpoint
            if !records.isEmpty {
                try await connection.copyIn("COPY import_staging FROM STDIN", copy.bytes)
                let written = try await connection.query("""
                    WITH page AS (
                        SELECT DISTINCT ON (s.id) s.id, s.kind, u.id AS user_id, p.id AS project_id, s.occurred_at, s.payload
                        FROM import_staging s
                        LEFT JOIN users u ON u.id = s.user_id
                        LEFT JOIN projects p ON p.id = s.project_id
                        ORDER BY s.id, s.ordinal DESC),
                    written AS (
                        INSERT INTO activity_events AS a (id, kind, user_id, project_id, occurred_at, payload)
                        SELECT * FROM page
                        ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, user_id = excluded.user_id, project_id = excluded.project_id,
                            occurred_at = excluded.occurred_at, payload = excluded.payload, imported_at = now()
                        WHERE (a.kind, a.user_id, a.project_id, a.occurred_at, a.payload)
                              IS DISTINCT FROM (excluded.kind, excluded.user_id, excluded.project_id, excluded.occurred_at, excluded.payload)
                        RETURNING xmax = 0 AS fresh)
                    SELECT count(*) FILTER (WHERE fresh) FROM written
                    """)
                let inserted = written.rows[0].int64(0) ?? 0
                committed.progress.inserted += inserted
                committed.progress.duplicates += Int64(records.count) - inserted
            }
            if !rejected.isEmpty {
                let dead = try await connection.query("""
                    INSERT INTO sync.import_dead_letters (import_name, source_id, reason, raw)
                    SELECT $1, nullif(s, ''), r, w FROM unnest($2::text[], $3::text[], $4::text[]) AS d (s, r, w)
                    ON CONFLICT (import_name, md5(raw)) DO NOTHING
                    """, [name, rejected.map { $0.sourceID ?? "" }, rejected.map(\.reason), rejected.map(\.raw)])
                committed.progress.deadLettered += Int64(dead.affectedRows)
            }
            committed.progress.pages += Int64(pages)
            committed.progress.records += Int64(records.count + rejected.count)
            try await save(committed, on: connection)
            return committed
        }
    }

    /// Writes the checkpoint row (inside the caller's transaction, or alone).
    func save(_ checkpoint: Checkpoint, error: String? = nil, on connection: PostgresConnection? = nil) async throws {
        let p = checkpoint.progress
        try await (connection ?? self.connection).query("""
            UPDATE sync.imports SET state = $2, next_cursor = $3, cursor_at = to_timestamp($4::float8),
                cursor_ttl = make_interval(secs => $5::float8), last_id = $6, pages = $7, records = $8, inserted = $9,
                duplicates = $10, dead_lettered = $11, rate_limited = $12, retries = $13, cursor_recoveries = $14, total = $15,
                error = $16, updated_at = now(), finished_at = CASE WHEN $2 = 'finished' THEN now() END
            WHERE name = $1
            """, [name, checkpoint.state, checkpoint.cursor, checkpoint.cursorAt, checkpoint.cursorTTL, checkpoint.lastID,
                  p.pages, p.records, p.inserted, p.duplicates, p.deadLettered, p.rateLimited, p.retries, p.cursorRecoveries,
                  p.total, error])
    }
}
