import Foundation
import Model
import Postgres
import Sync

/// The change log in Postgres, as the sync engine's `ChangeStore`.
///
/// Three connections, each opened on first use and again after it breaks:
/// - `leader` settles. It leads (`Leadership`): only one HackSync instance
///   claims and settles at a time; another waits as a standby until the
///   leader is gone, and settling checks the lock (the fence).
/// - `reader` claims the backlog and holds the wake-up lock, so that a claim
///   reads while the batches before it settle.
/// - `freshLane` claims fresh changes (`after` a seq), so that an edit made
///   while a backlog drains is not read behind the backlog's claim scan.
/// Claims only read; before each, the leader connection must be up, so a
/// standby claims nothing.
public actor PostgresChangeStore: ChangeStore {
    let leader: ManagedConnection
    let reader: ManagedConnection
    let freshLane: ManagedConnection
    /// The connection that holds the wake-up lock (`armWakeUp`), released by
    /// the next claim on it. A new connection holds nothing.
    private weak var armedOn: PostgresConnection?

    /// `leadership`: the election the connection joins before its first use.
    /// Only readers that never settle (tests, tools) go without one.
    public init(database connector: PostgresConnector, leadership: Leadership?) {
        leader = connector.shared(applicationName: "hacksync-sync") { connection in
            try await leadership?.lead(on: connection)
        }
        reader = connector.shared(applicationName: "hacksync-sync-reader")
        freshLane = connector.shared(applicationName: "hacksync-sync-fresh")
    }

    public func nextBatch(limit: Int, excluding: Set<Int64>, scope: ClaimScope) async throws -> ChangeBatch? {
        try await leader.with { _ in }  // opens it (leads) if it is not open: waits while a standby
        let armedConnection = armedOn
        let batch = try await (scope == .oldest ? reader : freshLane).with { connection -> ChangeBatch? in
            // The claim releases the wake-up lock in the same round trip, if this connection holds it.
            let rows = try await connection.query(
                """
                SELECT version, seqs, extract(epoch FROM oldest)::float8, newest, horizon, entity, id, doc
                FROM sync.next_batch($1, $2::bigint[], $3, $4, $5)
                """,
                [limit, Array(excluding), armedConnection === connection, scope.after, scope.skipOldest])
            guard let header = rows.rows.first, let version = header.int64(0), let seqText = header.string(1),
                  let horizon = header.int64(4) else { return nil }
            guard let seqs = parsePostgresInt64Array(seqText) else { throw PostgresError(.unexpectedResult, "claimed seqs: not a bigint array") }
            let oldest = header.double(2).map { Date(timeIntervalSince1970: $0) }
            var documents: [DocumentState] = []
            documents.reserveCapacity(rows.count - 1)
            for row in rows.rows.dropFirst() {
                guard let name = row.string(5), let entity = Entity(rawValue: name), let id = row.int64(6) else { continue }
                documents.append(DocumentState(ref: DocumentRef(entity, id), json: row.string(7)))
            }
            return ChangeBatch(seqs: seqs, oldestCapturedAt: oldest, newestCapturedAt: header.string(3) ?? "",
                               documents: DocumentBatch(version: version, documents: documents), horizon: horizon)
        }
        if scope == .oldest { armedOn = nil }
        return batch
    }

    public func armWakeUp() async throws -> WakeUpArming {
        let (result, connection) = try await reader.with { connection -> (WakeUpArming, PostgresConnection) in
            switch try await connection.query("SELECT sync.arm_wakeup()").scalar {
            case "armed": return (.armed, connection)
            case "pending": return (.pending, connection)
            case "writers": return (.writersInFlight, connection)
            case let other: throw PostgresError(.unexpectedResult, "sync.arm_wakeup() returned \(other ?? "NULL")")
            }
        }
        if result == .armed { armedOn = connection }
        return result
    }

    public func settle(_ batch: ChangeBatch, applied: [DocumentState], rejected: [RejectedDocument]) async throws -> [DocumentEvent] {
        try await leader.with { connection in
            let rows = try await connection.query(
                """
                SELECT * FROM sync.settle($1::bigint[], $2, $3::timestamptz, $4::text[], $5::bigint[], $6::text[],
                                        $7::text[], $8::bigint[], $9::text[], $10::text[], $11::text[])
                """,
                [batch.seqs, batch.documents.version, batch.newestCapturedAt,
                 applied.map(\.ref.entity.rawValue), applied.map(\.ref.id), applied.map { $0.json.map(PostgresArrayElement.value) ?? .null },
                 rejected.map(\.ref.entity.rawValue), rejected.map(\.ref.id), rejected.map { $0.json.map(PostgresArrayElement.value) ?? .null },
                 rejected.map(\.errorType), rejected.map(\.reason)])
            return PostgresEventLog.events(rows)
        }
    }
}

private extension ClaimScope {
    /// `sync.next_batch`'s `after` and `skip_oldest`.
    var after: Int64? {
        if case .above(let seq) = self { return seq }
        return nil
    }
    var skipOldest: Int? {
        if case .newestBeyondOldest(let count) = self { return count }
        return nil
    }
}
