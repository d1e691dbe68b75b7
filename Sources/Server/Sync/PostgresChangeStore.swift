import Foundation
import Logging
import Postgres
import Sync

/// The change log in Postgres, as the sync engine's `ChangeStore`.
///
/// Owns one connection, opened on first use and again after it breaks. The
/// connection holds the leader lock: only one HackSync instance drains the
/// log at a time; a second one waits as a standby until the first is gone.
public actor PostgresChangeStore: ChangeStore {
    /// Session-level advisory lock held by the instance that syncs.
    public static let leaderLock: Int64 = 7_261_002

    let databaseURL: String
    let logger: Logger
    /// Whether this store must hold the leader lock to work. Only readers
    /// that never settle changes (tests, tools) go without it.
    let requiresLeadership: Bool
    private var connection: PostgresConnection?

    public init(databaseURL: String, requiresLeadership: Bool = true, logger: Logger) {
        self.databaseURL = databaseURL
        self.requiresLeadership = requiresLeadership
        self.logger = logger
    }

    public func nextBatch(limit: Int, excluding: Set<Int64>) async throws -> ChangeBatch? {
        try await withConnection { connection in
            let rows = try await connection.query(
                "SELECT version, seqs, extract(epoch FROM oldest)::float8, entity, id, doc FROM sync.next_batch($1, $2::bigint[])",
                [limit, Array(excluding)])
            guard let header = rows.rows.first, let version = header.int64(0), let seqText = header.string(1) else { return nil }
            let seqs = parsePostgresArray(seqText).compactMap { $0.flatMap(Int64.init) }
            let oldest = header.double(2).map { Date(timeIntervalSince1970: $0) }
            var documents: [DocumentState] = []
            documents.reserveCapacity(rows.count - 1)
            for row in rows.rows.dropFirst() {
                guard let name = row.string(3), let entity = Entity(rawValue: name), let id = row.int64(4) else { continue }
                documents.append(DocumentState(ref: DocumentRef(entity, id), json: row.string(5)))
            }
            return ChangeBatch(seqs: seqs, oldestCapturedAt: oldest, documents: DocumentBatch(version: version, documents: documents))
        }
    }

    public func settle(seqs: [Int64], rejected: [RejectedDocument]) async throws {
        try await withConnection { connection in
            try await connection.transaction { connection in
                try await connection.query(
                    "UPDATE sync.changes SET processed_at = clock_timestamp() WHERE seq = ANY ($1::bigint[])", [seqs])
                for document in rejected {
                    try await connection.query(
                        """
                        INSERT INTO sync.dead_letters (entity, doc_id, error_type, error_reason, document)
                        VALUES ($1, $2, $3, $4, $5::jsonb)
                        ON CONFLICT (entity, doc_id) DO UPDATE SET
                            error_type = excluded.error_type, error_reason = excluded.error_reason,
                            document = excluded.document, attempts = sync.dead_letters.attempts + 1,
                            last_seen = now(), resolved_at = NULL
                        """,
                        [document.ref.entity.rawValue, document.ref.id, document.errorType, document.reason, document.json])
                }
            }
        }
    }

    /// Runs `body` on the leader connection, opening it (and waiting for the
    /// leader lock) if needed; drops the connection when it broke.
    private func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await currentConnection()
        do {
            return try await body(connection)
        } catch let error as PostgresError where error.isConnectionError || !connection.isHealthy {
            self.connection = nil
            await connection.close()
            throw error
        }
    }

    private func currentConnection() async throws -> PostgresConnection {
        if let connection, connection.isHealthy { return connection }
        if let stale = connection { await stale.close() }
        connection = nil
        let fresh = try await PostgresConnection.connect(databaseURL, applicationName: "hacksync-sync", logger: logger)
        var announced = false
        while requiresLeadership, try await fresh.query("SELECT pg_try_advisory_lock($1)", [Self.leaderLock]).scalar != "t" {
            if !announced {
                logger.notice("another hacksync instance holds the leader lock; waiting as standby")
                announced = true
            }
            try await Task.sleep(for: .seconds(1))
        }
        if announced { logger.notice("leader lock acquired; syncing") }
        connection = fresh
        return fresh
    }
}
