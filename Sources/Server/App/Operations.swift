import Foundation
import HTTP
import Logging
import Model
import NIOHTTP1
import Postgres
import Sync

/// The operator endpoints of the admin API: dead letters, index jobs,
/// reconciliation. Reads are open (the admin API listens on loopback by
/// default) except one dead-letter entry, which carries the whole document
/// (a user's e-mail included); that and every mutating request need the
/// admin token (`AdminRouter` checks it).
public struct Operations: Sendable {
    let database: PostgresConnector
    let indexGuard: IndexGuard
    let reconciler: Reconciler
    let maintenance: Maintenance.Status
    let deadLetters: DeadLetters
    let logger: Logger

    public init(database: PostgresConnector, indexGuard: IndexGuard, reconciler: Reconciler,
                maintenance: Maintenance.Status, logger: Logger) {
        self.database = database
        self.indexGuard = indexGuard
        self.reconciler = reconciler
        self.maintenance = maintenance
        self.deadLetters = DeadLetters(database: database, logger: logger)
        self.logger = logger
    }

    var routes: [AdminRoute] {
        [
            AdminRoute(.GET, "/api/dlq") { request in
                let limit = try request.integer("limit", default: 100, maximum: 10_000)
                let all = try request.boolean("all") ?? false
                return try AdminJSON.response(try await deadLetters.list(includeResolved: all, limit: limit))
            },
            AdminRoute(.GET, "/api/dlq/:id", access: .adminToken) { request in
                try AdminJSON.response(try await deadLetters.show(try request.id()))
            },
            AdminRoute(.POST, "/api/dlq/:id/retry", access: .adminToken) { request in
                try AdminJSON.response(try await deadLetters.retry(try request.id()), status: .accepted)
            },
            AdminRoute(.POST, "/api/dlq/retry-all", access: .adminToken) { _ in
                struct Retried: Encodable { var retried: Int }
                return try AdminJSON.response(Retried(retried: try await deadLetters.retryAll()), status: .accepted)
            },
            AdminRoute(.POST, "/api/dlq/:id/discard", access: .adminToken) { request in
                try AdminJSON.response(try await deadLetters.discard(try request.id()))
            },
            AdminRoute(.GET, "/api/reindex") { _ in try AdminJSON.response(try await jobs()) },
            AdminRoute(.POST, "/api/reindex", access: .adminToken) { request in try await startReindex(request.http) },
            AdminRoute(.POST, "/api/reconcile", access: .adminToken) { _ in try AdminJSON.response(try await reconciler.run()) },
            AdminRoute(.GET, "/api/reconcile") { _ in
                guard let report = maintenance.snapshot.lastReconcile else {
                    throw OperationError.notFound("no reconciliation has run yet; POST /api/reconcile runs one")
                }
                return try AdminJSON.response(report)
            },
        ]
    }

    /// `{"entity": "projects"}` (or no body: every entity) → 202 with the jobs.
    private func startReindex(_ request: HTTPRequest) async throws -> HTTPResponse {
        var entities = Entity.allCases
        if request.body.readableBytes > 0 {
            let body: JSONValue
            do { body = try JSONValue.parse(request.body.readableBytesView) } catch {
                throw OperationError.invalid("the body must be JSON: {\"entity\": \"projects\"}")
            }
            if let name = body["entity"] {
                guard let entity = name.string.flatMap(Entity.init(rawValue:)) else {
                    throw OperationError.invalid("entity must be one of users, hackathons, projects")
                }
                entities = [entity]
            }
        }
        let started = try await database.withConnection(applicationName: "hacksync-admin") { db in
            let before = try await IndexBuilder.jobs(db)
            if let busy = before.first(where: { !$0.isFinished && entities.contains($0.entity) }) {
                throw OperationError.jobRunning("a \(busy.mode) of \(busy.entity) is already running (job \(busy.id))")
            }
            let newestBefore = before.map(\.id).max() ?? 0
            for entity in entities {
                await indexGuard.startJob(entity, mode: .reindex, reason: "requested through the admin API")
            }
            // The jobs record themselves within milliseconds; answer with them.
            var started: [IndexJob] = []
            for _ in 0..<100 {
                started = try await IndexBuilder.jobs(db).filter { $0.id > newestBefore && entities.contains($0.entity) }
                if started.count >= entities.count { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            return started
        }
        return try AdminJSON.response(started, status: .accepted)
    }

    func jobs() async throws -> [IndexJob] {
        try await database.withConnection(applicationName: "hacksync-admin") {
            try await IndexBuilder.jobs($0)
        }
    }
}
