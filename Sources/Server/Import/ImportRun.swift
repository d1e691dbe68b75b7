import Foundation
import Postgres

/// One import as `sync.imports` records it, for `hacksync import status`,
/// `/api/status`, `/metrics` and the dashboard.
public struct ImportRun: Codable, Sendable, Equatable {
    public var name: String
    public var source: String
    /// `running` (a process holds its lock), `interrupted` (it died; a rerun
    /// continues from the checkpoint), `failed` (it gave up; the same), `finished`.
    public var state: String
    public var pages: Int64
    public var records: Int64
    public var inserted: Int64
    public var duplicates: Int64
    public var deadLettered: Int64
    public var rateLimited: Int64
    public var retries: Int64
    public var cursorRecoveries: Int64
    public var total: Int64?
    public var error: String?
    public var startedAt: Date
    public var updatedAt: Date
    public var finishedAt: Date?
    /// Records per second from its start to its last page.
    public var rate: Double?

    enum CodingKeys: String, CodingKey {
        case name, source, state, pages, records, inserted, duplicates, deadLettered = "dead_lettered", rateLimited = "rate_limited"
        case retries, cursorRecoveries = "cursor_recoveries", total, error, startedAt = "started_at", updatedAt = "updated_at"
        case finishedAt = "finished_at", rate
    }

    /// The imports, running ones first, then the newest.
    public static func list(_ db: PostgresConnection, limit: Int = 20) async throws -> [ImportRun] {
        try await db.query("""
            SELECT name, source,
                   CASE WHEN state <> 'running' THEN state
                        WHEN EXISTS (SELECT 1 FROM pg_locks l
                                     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                                       AND l.classid::bigint = (k.key >> 32) & 4294967295 AND l.objid::bigint = k.key & 4294967295)
                        THEN 'running' ELSE 'interrupted' END,
                   pages, records, inserted, duplicates, dead_lettered, rate_limited, retries, cursor_recoveries, total, error,
                   \(PostgresRows.epoch("started_at")), \(PostgresRows.epoch("updated_at")), \(PostgresRows.epoch("finished_at"))
            FROM sync.imports CROSS JOIN LATERAL (SELECT hashtextextended('hacksync.import:' || name, 0) AS key) k
            ORDER BY state = 'running' DESC, updated_at DESC LIMIT $1
            """, [limit]).rows.map { row in
            let started = row.date(13) ?? Date()
            let updated = row.date(14) ?? started
            let records = row.int64(4) ?? 0
            let seconds = updated.timeIntervalSince(started)
            return ImportRun(name: row[0] ?? "", source: row[1] ?? "", state: row[2] ?? "", pages: row.int64(3) ?? 0, records: records,
                             inserted: row.int64(5) ?? 0, duplicates: row.int64(6) ?? 0, deadLettered: row.int64(7) ?? 0,
                             rateLimited: row.int64(8) ?? 0, retries: row.int64(9) ?? 0, cursorRecoveries: row.int64(10) ?? 0,
                             total: row.int64(11), error: row[12], startedAt: started, updatedAt: updated, finishedAt: row.date(15),
                             rate: seconds > 0 ? Double(records) / seconds : nil)
        }
    }
}
