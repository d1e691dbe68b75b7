import Foundation
import Logging
import Postgres

/// One document the index refused, as operators see it.
public struct DeadLetter: Codable, Sendable, Equatable {
    public var id: Int64
    public var entity: String
    public var docID: Int64
    public var errorType: String
    public var errorReason: String
    public var attempts: Int
    public var firstSeen: Date
    public var lastSeen: Date
    public var resolvedAt: Date?
    /// `synced` or `discarded` once resolved.
    public var resolution: String?
    /// The rejected document (only in `show`).
    public var document: String?

    enum CodingKeys: String, CodingKey {
        case id, entity, docID = "doc_id", errorType = "error_type", errorReason = "error_reason", attempts
        case firstSeen = "first_seen", lastSeen = "last_seen", resolvedAt = "resolved_at", resolution, document
    }
}

/// Dead-letter operations, for the CLI and the admin API. A retry does not
/// write to the index itself: it asks the sync to read the document again
/// (a 'refresh' change), so the retry goes through the same ordering,
/// versioning and settlement as every other write, and resolves the entry
/// when the index accepts the document.
public struct DeadLetters: Sendable {
    let database: PostgresConnector
    let logger: Logger

    public init(database: PostgresConnector, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    private static let columns = """
        id, entity, doc_id, error_type, error_reason, attempts,
        \(PostgresRows.epoch("first_seen")), \(PostgresRows.epoch("last_seen")), \(PostgresRows.epoch("resolved_at")),
        resolution
        """

    /// Open entries (or all, with `includeResolved`), most recently seen first.
    public func list(includeResolved: Bool = false, limit: Int = 100) async throws -> [DeadLetter] {
        guard (1...10_000).contains(limit) else { throw OperationError.invalid("limit must be between 1 and 10000") }
        return try await withConnection { db in
            try await db.query(
                "SELECT \(Self.columns), NULL FROM sync.dead_letters WHERE $1 OR resolved_at IS NULL ORDER BY last_seen DESC, id DESC LIMIT $2",
                [includeResolved, limit]
            ).rows.map(Self.deadLetter)
        }
    }

    /// Open entries.
    public func openCount() async throws -> Int {
        try await withConnection { db in
            Int(try await db.query("SELECT count(*) FROM sync.dead_letters WHERE resolved_at IS NULL").scalar ?? "0") ?? 0
        }
    }

    public func show(_ id: Int64) async throws -> DeadLetter {
        try await withConnection { db in
            guard let row = try await db.query("SELECT \(Self.columns), document::text FROM sync.dead_letters WHERE id = $1", [id]).rows.first else {
                throw OperationError.notFound("no dead letter \(id)")
            }
            return Self.deadLetter(row)
        }
    }

    /// Asks the sync to write the entry's document again. The entry stays
    /// open until the index accepts it (a rejection updates it instead).
    public func retry(_ id: Int64) async throws -> DeadLetter {
        try await withConnection { db in
            let letter = try await openEntry(id, db)
            _ = try await db.query("SELECT sync.request_refresh($1, ARRAY[$2::bigint])", [letter.entity, letter.docID])
            logger.info("dead letter retried", metadata: ["dlq.id": "\(id)", "doc": "\(letter.entity)/\(letter.docID)"])
            return letter
        }
    }

    /// Retries every open entry; returns how many.
    public func retryAll() async throws -> Int {
        try await withConnection { db in
            try await db.transaction { db in
                let rows = try await db.query(
                    """
                    SELECT coalesce(sum(sync.request_refresh(entity, ids)), 0)
                    FROM (SELECT entity, array_agg(doc_id ORDER BY doc_id) AS ids
                          FROM sync.dead_letters WHERE resolved_at IS NULL GROUP BY entity) open
                    """)
                return Int(rows.scalar ?? "0") ?? 0
            }
        }
    }

    /// Closes an entry without syncing the document (it stays out of the
    /// index until its row changes again).
    public func discard(_ id: Int64) async throws -> DeadLetter {
        try await withConnection { db in
            _ = try await openEntry(id, db)
            guard let row = try await db.query(
                "UPDATE sync.dead_letters SET resolved_at = now(), resolution = 'discarded' WHERE id = $1 AND resolved_at IS NULL RETURNING \(Self.columns), NULL",
                [id]).rows.first
            else { throw OperationError.alreadyResolved("dead letter \(id) was resolved meanwhile") }
            logger.notice("dead letter discarded", metadata: ["dlq.id": "\(id)"])
            return Self.deadLetter(row)
        }
    }

    private func openEntry(_ id: Int64, _ db: PostgresConnection) async throws -> DeadLetter {
        guard let row = try await db.query("SELECT \(Self.columns), NULL FROM sync.dead_letters WHERE id = $1", [id]).rows.first else {
            throw OperationError.notFound("no dead letter \(id)")
        }
        let letter = Self.deadLetter(row)
        if let resolution = letter.resolution {
            throw OperationError.alreadyResolved("dead letter \(id) is already resolved (\(resolution))")
        }
        return letter
    }

    private func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await database.withConnection(applicationName: "hacksync-dlq", body)
    }

    static func deadLetter(_ row: [String?]) -> DeadLetter {
        DeadLetter(
            id: row.int64(0) ?? 0, entity: row.string(1) ?? "", docID: row.int64(2) ?? 0,
            errorType: row.string(3) ?? "", errorReason: row.string(4) ?? "", attempts: row.int(5) ?? 0,
            firstSeen: row.date(6) ?? .distantPast, lastSeen: row.date(7) ?? .distantPast, resolvedAt: row.date(8),
            resolution: row.string(9), document: row.string(10))
    }
}
