import Foundation
import HTTP
import Logging
import Model
import NIOHTTP1
import Postgres
import Realtime
import Sync

/// The operator endpoints of the admin API: dead letters, index jobs,
/// reconciliation. Reads are open (the admin API listens on loopback by
/// default) except one dead-letter entry, which carries the whole document;
/// that and every mutating request need `Authorization: Bearer
/// <HACKSYNC_ADMIN_TOKEN>`, and with no token configured they are refused.
public struct Operations: Sendable {
    let databaseURL: String
    let adminToken: String?
    let indexGuard: IndexGuard
    let reconciler: Reconciler
    let maintenance: Maintenance.Status
    let deadLetters: DeadLetters
    let logger: Logger

    public init(databaseURL: String, adminToken: String?, indexGuard: IndexGuard, reconciler: Reconciler,
                maintenance: Maintenance.Status, logger: Logger) {
        self.databaseURL = databaseURL
        self.adminToken = adminToken.flatMap { $0.isEmpty ? nil : $0 }
        self.indexGuard = indexGuard
        self.reconciler = reconciler
        self.maintenance = maintenance
        self.deadLetters = DeadLetters(databaseURL: databaseURL, logger: logger)
        self.logger = logger
    }

    /// Answers `/api/dlq…`, `/api/reindex`, `/api/reconcile`; nil for other paths.
    func respond(to request: HTTPRequest) async -> HTTPResponse? {
        let parts = request.path.split(separator: "/").map(String.init)
        guard parts.count >= 2, parts[0] == "api", ["dlq", "reindex", "reconcile"].contains(parts[1]) else { return nil }
        // "dlq/17/retry" → shape "dlq/:id/retry", id "17".
        var rest = Array(parts.dropFirst())
        var id = ""
        if rest.count >= 2, rest[0] == "dlq", rest[1] != "retry-all" {
            id = rest[1]
            rest[1] = ":id"
        }
        let shape = rest.joined(separator: "/")
        // Mutations need the token; so does one entry, which carries the whole
        // rejected document (a user's e-mail included).
        let needsToken = (request.method != .GET && request.method != .HEAD) || shape == "dlq/:id"
        if needsToken, let refusal = authorize(request) { return refusal }
        do {
            switch (request.method, shape) {
            case (.GET, "dlq"):
                let limit = try request.query["limit"].map { try Self.integer($0, "limit") } ?? 100
                let all = request.query["all"].map { $0 == "true" || $0 == "1" } ?? false
                return try AdminJSON.response(try await deadLetters.list(includeResolved: all, limit: limit))
            case (.GET, "dlq/:id"):
                return try AdminJSON.response(try await deadLetters.show(try Self.integer(id, "id")))
            case (.POST, "dlq/:id/retry"):
                return try AdminJSON.response(try await deadLetters.retry(try Self.integer(id, "id")), status: .accepted)
            case (.POST, "dlq/retry-all"):
                return .json(#"{"retried":\#(try await deadLetters.retryAll())}"#, status: .accepted)
            case (.POST, "dlq/:id/discard"):
                return try AdminJSON.response(try await deadLetters.discard(try Self.integer(id, "id")))
            case (.GET, "reindex"):
                return try AdminJSON.response(try await jobs())
            case (.POST, "reindex"):
                return try await startReindex(request)
            case (.POST, "reconcile"):
                return try AdminJSON.response(try await reconciler.run())
            case (.GET, "reconcile"):
                guard let report = maintenance.snapshot.lastReconcile else {
                    return .error(.notFound, "no reconciliation has run yet; POST /api/reconcile runs one")
                }
                return try AdminJSON.response(report)
            case (_, "dlq"), (_, "dlq/:id"), (_, "dlq/:id/retry"), (_, "dlq/:id/discard"), (_, "dlq/retry-all"), (_, "reindex"), (_, "reconcile"):
                return .error(.methodNotAllowed, "\(request.method) is not allowed on \(request.path)")
            default:
                return .error(.notFound, "no route for \(request.method) \(request.path)")
            }
        } catch {
            return .failure(error, for: request, logger: logger)
        }
    }

    /// 401 without credentials, 403 with wrong ones or when no token is configured.
    func authorize(_ request: HTTPRequest) -> HTTPResponse? {
        guard let expected = adminToken else {
            return .error(.forbidden, "admin actions are disabled: start hacksync with HACKSYNC_ADMIN_TOKEN set")
        }
        guard let token = HTTPRequest.bearerToken(in: request.headers) else {
            var response = HTTPResponse.error(.unauthorized, "this action needs Authorization: Bearer <admin token>")
            response.headers.add(name: "WWW-Authenticate", value: #"Bearer realm="hacksync""#)
            return response
        }
        return constantTimeEquals(expected, token) ? nil : .error(.forbidden, "wrong admin token")
    }

    /// `{"entity": "projects"}` (or no body: every entity) → 202 with the jobs.
    private func startReindex(_ request: HTTPRequest) async throws -> HTTPResponse {
        var entities = Entity.allCases
        if request.body.readableBytes > 0 {
            let body: JSONValue
            do { body = try JSONValue.parse(request.body.readableBytesView) } catch {
                throw OperationError(.invalid, "the body must be JSON: {\"entity\": \"projects\"}")
            }
            if let name = body["entity"] {
                guard let entity = name.string.flatMap(Entity.init(rawValue:)) else {
                    throw OperationError(.invalid, "entity must be one of users, hackathons, projects")
                }
                entities = [entity]
            }
        }
        let started = try await PostgresConnection.withConnection(databaseURL, applicationName: "hacksync-admin", logger: logger) { db in
            let before = try await IndexBuilder.jobs(db)
            if let busy = before.first(where: { !$0.isFinished && entities.contains($0.entity) }) {
                throw OperationError(.conflict, "a \(busy.mode) of \(busy.entity) is already running (job \(busy.id))")
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
        try await PostgresConnection.withConnection(databaseURL, applicationName: "hacksync-admin", logger: logger) {
            try await IndexBuilder.jobs($0)
        }
    }

    static func integer(_ text: String, _ name: String) throws -> Int64 {
        guard let value = Int64(text), value > 0 else { throw OperationError(.invalid, "\(name) must be a positive integer, got \(text)") }
        return value
    }

    static func integer(_ text: String, _ name: String) throws -> Int {
        Int(try integer(text, name) as Int64)
    }
}
