import Logging
import Model
import Postgres
import Realtime
import Sync

/// `sync.events` as the realtime hub's `EventLog`, on its own connection
/// (reopened after it breaks), so replays never wait behind the sync.
public struct PostgresEventLog: EventLog {
    let database: ManagedConnection

    public init(_ database: ManagedConnection) {
        self.database = database
    }

    public func events(channel: Entity, after: Int64, limit: Int) async throws -> [DocumentEvent] {
        let rows = try await query(
            """
            SELECT seq, doc_id, op, data::text, CASE WHEN entity = 'users' THEN (data - 'email')::text END,
                   to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
            FROM sync.events WHERE entity = $1 AND seq > $2 ORDER BY seq LIMIT $3
            """,
            [channel.rawValue, after, limit])
        return rows.rows.compactMap { row in
            guard let seq = row.int64(0), let id = row.int64(1),
                  let op = row.string(2).flatMap(DocumentEvent.Operation.init(rawValue:)), let data = row.string(3)
            else { return nil }
            return DocumentEvent(seq: seq, ref: DocumentRef(channel, id), operation: op, data: data,
                                 publicData: row.string(4), at: row.string(5) ?? "")
        }
    }

    public func oldestSeq() async throws -> Int64? {
        try await query("SELECT min(seq) FROM sync.events").rows.first?.int64(0)
    }

    public func latestSeq() async throws -> Int64 {
        // The identity's last value, not max(seq): pruning may have emptied the table.
        let rows = try await query("SELECT coalesce((SELECT last_value FROM sync.events_seq_seq WHERE is_called), 0)")
        return rows.rows.first?.int64(0) ?? 0
    }

    private func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) async throws -> PostgresRows {
        try await database.query(sql, parameters)
    }
}
