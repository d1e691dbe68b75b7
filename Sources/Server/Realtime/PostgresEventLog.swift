import Logging
import Model
import Postgres
import Realtime
import Sync

/// `sync.events` as the realtime hub's `EventLog` and the event follower's
/// source, on its own connection (reopened after it breaks), so replays
/// never wait behind the sync.
public struct PostgresEventLog: EventLog {
    let database: ManagedConnection

    public init(_ database: ManagedConnection) {
        self.database = database
    }

    public func events(channel: Entity, after: Int64, limit: Int) async throws -> [DocumentEvent] {
        Self.events(
            try await query("SELECT w.* FROM sync.events e, LATERAL sync.event_wire(e) w WHERE e.entity = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
                            [channel.rawValue, after, limit]))
    }

    /// Events of every channel with seq > `after`, oldest first: what the
    /// event follower publishes.
    public func events(after: Int64, limit: Int) async throws -> [DocumentEvent] {
        Self.events(try await query("SELECT w.* FROM sync.events e, LATERAL sync.event_wire(e) w WHERE e.seq > $1 ORDER BY e.seq LIMIT $2", [after, limit]))
    }

    /// Events from rows of `sync.event_wire` (R__80_settle.sql): what this
    /// log reads and what `sync.settle` returns.
    static func events(_ rows: PostgresRows) -> [DocumentEvent] {
        rows.rows.compactMap { row in
            guard let seq = row.int64(0), let entity = row.string(1).flatMap(Entity.init(rawValue:)), let id = row.int64(2),
                  let op = row.string(3).flatMap(DocumentEvent.Operation.init(rawValue:)), let data = row.string(5)
            else { return nil }
            return DocumentEvent(seq: seq, ref: DocumentRef(entity, id), operation: op, data: data, publicData: row.string(8),
                                 changed: row.string(6), previous: row.string(7),
                                 publicChanged: row.string(9), publicPrevious: row.string(10), at: row.string(4) ?? "")
        }
    }

    public func oldestSeq() async throws -> Int64? {
        try await query("SELECT min(seq) FROM sync.events").rows.first?.int64(0)
    }

    public func latestSeq() async throws -> Int64 {
        // The newest committed event, not the identity's last value: a settle
        // in flight has drawn its seqs already, and an instance starting then
        // must not skip them. The identity's value only when pruning emptied the table.
        let rows = try await query("""
            SELECT coalesce((SELECT max(seq) FROM sync.events),
                            (SELECT last_value FROM sync.events_seq_seq WHERE is_called), 0)
            """)
        return rows.rows.first?.int64(0) ?? 0
    }

    private func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) async throws -> PostgresRows {
        try await database.query(sql, parameters)
    }
}
