import Foundation
import HTTP
import Logging
import Model
import NIOHTTP1
import Postgres
import Realtime
import Search
import Sync

/// The read-only views of the admin API: readiness, the status summary,
/// recent changes, and a search pass-through to try the product.
public struct StatusAPI: Sendable {
    let statistics: SyncStatistics
    let indexes: SearchIndexes
    let hub: RealtimeHub?
    let leadership: Leadership?
    let database: ManagedConnection
    let replication: ReplicationMonitor
    /// Index mappings changed by hand (a readiness reason until repaired).
    let drift: MappingDrift
    /// Elasticsearch's cluster health, asked at most once a second however
    /// many pollers there are (under bulk load one call took up to 1 s).
    let search: RecentValue<Status.SearchState>
    let logger: Logger

    public init(database: ManagedConnection, statistics: SyncStatistics, indexes: SearchIndexes, hub: RealtimeHub?,
                leadership: Leadership? = nil, replication: ReplicationMonitor = ReplicationMonitor(),
                drift: MappingDrift = MappingDrift(), logger: Logger) {
        self.leadership = leadership
        self.drift = drift
        self.replication = replication
        self.search = RecentValue(maxAge: .seconds(1)) { [indexes] in await Self.searchHealth(indexes) }
        self.statistics = statistics
        self.indexes = indexes
        self.hub = hub
        self.database = database
        self.logger = logger
    }

    var routes: [AdminRoute] {
        [
            AdminRoute(.GET, "/readyz") { _ in await readiness() },
            AdminRoute(.GET, "/api/status") { _ in try AdminJSON.response(await status()) },
            AdminRoute(.GET, "/api/changes") { request in
                try AdminJSON.response(try await changes(limit: request.integer("limit", default: 50, maximum: 1000)))
            },
            AdminRoute(.GET, "/api/search") { request in try await search(request) },
        ]
    }

    // MARK: - /readyz

    /// 200 when Postgres and Elasticsearch both answer and the listener is
    /// LISTENing and no index mapping drifted from its declaration; 503 with the reasons.
    func readiness() async -> HTTPResponse {
        async let postgres: String? = {
            do {
                _ = try await database.with { try await $0.query("SELECT 1") }
                return nil
            } catch {
                return "Postgres unreachable: \(error)"
            }
        }()
        async let searchProblem: String? = {
            let state = await search.get()
            guard !state.reachable else { return nil }
            let text = state.error ?? "no answer"  // the client's errors already say "Elasticsearch unreachable: …"
            return text.hasPrefix("Elasticsearch") ? text : "Elasticsearch unreachable: \(text)"
        }()
        var reasons = [await postgres, await searchProblem].compactMap { $0 }
        if !statistics.snapshot.listening { reasons.append("not listening to Postgres notifications (yet)") }
        reasons += drift.current.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value); a reindex replaces it" }
        struct Readiness: Encodable { var ready: Bool; var reasons: [String] }
        let body = Readiness(ready: reasons.isEmpty, reasons: reasons)
        return (try? AdminJSON.response(body, status: reasons.isEmpty ? .ok : .serviceUnavailable))
            ?? .error(.internalServerError, "could not encode the readiness")
    }

    // MARK: - /api/status

    struct Status: Encodable {
        struct Capture: Encodable {
            var latestSeq: Int64?
            var backlog: Int64?
            var oldestPendingAgeSeconds: Double?
            var listening: Bool
            var notificationsReceived: Int
            var error: String?
        }
        struct SyncState: Encodable {
            var changesSynced, documentsWritten, documentsDeleted, documentsRejected, batches, eventsPublished: Int
            var failures, consecutiveFailures: Int
            var circuit: String
            var batchLimit: Int
            var lastSyncAt: Date?
            var lastError: String?
            var lastErrorAt: Date?
        }
        struct Lag: Encodable {
            var lastSeconds: Double?
            var p50Seconds, p90Seconds, p99Seconds: Double?
        }
        struct SearchState: Encodable {
            var reachable: Bool
            var health: String?
            var error: String?
        }
        struct WebSocketState: Encodable {
            var connections: Int
            var messagesSent: Int
        }
        /// `leader`: this instance syncs; `standby`: it waits to take over
        /// (and serves the live stream and the API all the same).
        var role: String
        var instance: String?
        var capture: Capture
        var sync: SyncState
        var lag: Lag
        var elasticsearch: SearchState
        var deadLetters: Int?
        var webSocket: WebSocketState
        var indexJobs: [IndexJob]
        /// `hacksync import` runs, running ones first (`ImportRun`).
        var imports: [ImportRun]
        /// The source's logical replication slots (empty when none; null when unreadable).
        var replication: [ReplicationMonitor.Slot]?
        var generatedAt: Date
    }

    func status() async -> Status {
        let s = statistics.snapshot
        let lags = statistics.lagPercentiles([50, 90, 99])
        async let searchState = search.get()
        var capture = Status.Capture(listening: s.listening, notificationsReceived: s.notificationsReceived)
        var deadLetters: Int?
        var jobs: [IndexJob] = []
        var imports: [ImportRun] = []
        var slots: [ReplicationMonitor.Slot]?
        do {
            let row = try await database.with { db in
                try await db.query("""
                    SELECT (SELECT max(seq) FROM sync.changes),
                           (SELECT count(*) FROM sync.changes WHERE processed_at IS NULL),
                           (SELECT extract(epoch FROM clock_timestamp() - min(created_at))::float8 FROM sync.changes WHERE processed_at IS NULL),
                           (SELECT count(*) FROM sync.dead_letters WHERE resolved_at IS NULL)
                    """).rows[0]
            }
            capture.latestSeq = row.int64(0) ?? 0
            capture.backlog = row.int64(1)
            capture.oldestPendingAgeSeconds = row.string(2).flatMap(Double.init)
            deadLetters = row.int64(3).map(Int.init)
            jobs = try await database.with { try await IndexBuilder.jobs($0, limit: 5) }
            imports = try await database.with { try await ImportRun.list($0, limit: 5) }
        } catch {
            capture.error = "\(error)"
        }
        do {
            slots = try await database.with { try await replication.slots($0) }
        } catch {
            logger.warning("reading the replication slots failed", metadata: ["error": "\(error)"])
        }
        return Status(
            role: (leadership?.role ?? .leader).rawValue,
            instance: leadership?.configuration.instance,
            capture: capture,
            sync: .init(changesSynced: s.changesSynced, documentsWritten: s.documentsWritten, documentsDeleted: s.documentsDeleted,
                        documentsRejected: s.documentsRejected, batches: s.batches, eventsPublished: s.eventsPublished,
                        failures: s.failures, consecutiveFailures: s.consecutiveFailures, circuit: s.circuit,
                        batchLimit: s.batchLimit, lastSyncAt: s.lastSyncAt, lastError: s.lastError, lastErrorAt: s.lastErrorAt),
            lag: .init(lastSeconds: s.lastLagSeconds, p50Seconds: lags?[0], p90Seconds: lags?[1], p99Seconds: lags?[2]),
            elasticsearch: await searchState,
            deadLetters: deadLetters,
            webSocket: .init(connections: hub?.connectionCount ?? 0, messagesSent: hub?.messagesSent ?? 0),
            indexJobs: jobs,
            imports: imports,
            replication: slots,
            generatedAt: Date())
    }

    static func searchHealth(_ indexes: SearchIndexes) async -> Status.SearchState {
        do {
            let response = try await indexes.client.expectSuccess(.GET, "/_cluster/health", timeout: .seconds(2))
            return .init(reachable: true, health: try JSONValue.parse(response.text)["status"]?.string)
        } catch {
            return .init(reachable: false, error: "\(error)")
        }
    }

    // MARK: - /api/changes

    struct Change: Encodable {
        var seq: Int64
        var table: String
        var operation: String
        var key: [Int64]
        var columns: [String]?
        var document: String?
        var capturedAt: Date
        var processedAt: Date?
        var state: String
    }

    func changes(limit: Int) async throws -> [Change] {
        try await database.with { db in
            try await db.query("""
                SELECT seq, tbl, op::text, key1, key2, array_to_string(cols, ','), doc_entity,
                       \(PostgresRows.epoch("created_at")), \(PostgresRows.epoch("processed_at"))
                FROM sync.changes ORDER BY seq DESC LIMIT $1
                """, [limit]).rows.map { row in
                let operation = switch row.string(2) {
                case "I": "insert"
                case "U": "update"
                case "D": "delete"
                default: row.string(2) ?? "?"
                }
                let table = row.string(1) ?? "?"
                return Change(
                    seq: row.int64(0) ?? 0, table: table, operation: table == "refresh" ? "refresh" : operation,
                    key: [row.int64(3), row.int64(4)].compactMap { $0 },
                    columns: row.string(5).flatMap { $0.isEmpty ? nil : $0.split(separator: ",").map(String.init) },
                    document: row.string(6).map { "\($0)/\(row.int64(3) ?? 0)" },
                    capturedAt: row.date(7) ?? .distantPast, processedAt: row.date(8),
                    state: row[8] == nil ? "pending" : "synced")
            }
        }
    }

    // MARK: - /api/search

    /// `q` matches the declaration's searched fields (`searchedPaths`);
    /// private fields (users' e-mail) are never searched and are returned
    /// only with the private token.
    func search(_ request: AdminRequest) async throws -> HTTPResponse {
        guard let name = request.http.query["index"], let entity = Entity(rawValue: name) else {
            throw OperationError.invalid("index must be one of users, hackathons, projects")
        }
        let declaration = indexes.declaration(entity)
        let size = try request.integer("size", default: 10, maximum: 100)
        let text = request.http.query["q"] ?? ""
        let query = text.isEmpty
            ? #"{"match_all":{}}"#
            : #"{"multi_match":{"query":\#(jsonQuoted(text)),"fields":[\#(declaration.searchedPaths.map(jsonQuoted).joined(separator: ","))]}}"#
        let token = HTTPRequest.bearerToken(in: request.http.headers) ?? request.http.query["token"]
        let showPrivate = hub?.isAuthorized(token: token) ?? false
        let hidden = showPrivate ? [] : declaration.privateFields.sorted()
        let source = hidden.isEmpty ? "" : #","_source":{"excludes":[\#(hidden.map(jsonQuoted).joined(separator: ","))]}"#
        let body = #"{"size":\#(size),"query":\#(query)\#(source)}"#
        let response = try await indexes.client.expectSuccess(.POST, "/\(indexes.alias(for: entity))/_search", json: body)
        let result = try JSONValue.parse(response.text)
        let hits = (result[path: "hits.hits"]?.array ?? []).map { hit -> JSONValue in
            .object(["id": hit["_id"] ?? .null, "score": hit["_score"] ?? .null, "document": hit["_source"] ?? .null])
        }
        let total = result[path: "hits.total.value"] ?? result[path: "hits.total"] ?? .null
        return .json(JSONValue.object(["index": .string(entity.rawValue), "total": total, "hits": .array(hits)]).description)
    }
}
