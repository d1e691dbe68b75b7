import Model
import Realtime
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Postgres
import Search
import Server
import ServiceLifecycle
import Sync
import Testing

/// One test's world: its own database (migrated), its own index prefix on the
/// shared search server, and optionally the sync running in-process.
final class SyncFixture: @unchecked Sendable {
    // @unchecked Sendable: `syncRun` is only touched by the test's own task.
    let adminURL: String
    let databaseName: String
    let databaseURL: String
    let elasticsearchURL: String
    let prefix: String
    /// The test's own connection; replaced by `reconnect()` after a Postgres restart.
    private(set) var db: PostgresConnection
    let es: ElasticsearchClient
    let indexes: SearchIndexes
    let logger: Logger
    private var syncRun: (group: ServiceGroup, task: Task<Void, Error>, statistics: SyncStatistics)?

    var statistics: SyncStatistics? { syncRun?.statistics }
    /// Connections to the test's database, as the service's parts take them.
    var connector: PostgresConnector { PostgresConnector(databaseURL, logger: logger) }

    private init(adminURL: String, databaseName: String, databaseURL: String, elasticsearchURL: String,
                 prefix: String, db: PostgresConnection, es: ElasticsearchClient, logger: Logger) {
        self.adminURL = adminURL
        self.databaseName = databaseName
        self.databaseURL = databaseURL
        self.elasticsearchURL = elasticsearchURL
        self.prefix = prefix
        self.db = db
        self.es = es
        self.logger = logger
        self.indexes = SearchIndexes(client: es, prefix: prefix, logger: logger)
    }

    /// Runs `body` with a fresh fixture and always cleans up after it.
    /// `store`: wraps the engine's change store (to force a race at a chosen step).
    static func with<T>(sync: Bool = true, configure: (inout SyncConfiguration) -> Void = { _ in },
                        store: (@Sendable (any ChangeStore) -> any ChangeStore)? = nil,
                        _ body: (SyncFixture) async throws -> T) async throws -> T {
        let fixture = try await make()
        do {
            if sync {
                var configuration = SyncConfiguration()
                configuration.catchUpInterval = .milliseconds(200)
                configuration.retry = RetryPolicy(base: .milliseconds(50), cap: .seconds(1))
                configure(&configuration)
                try await fixture.startSync(configuration, store: store)
            }
            let result = try await body(fixture)
            await fixture.tearDown()
            return result
        } catch {
            await fixture.tearDown()
            throw error
        }
    }

    static func make() async throws -> SyncFixture {
        let (adminURL, esURL) = try TestEnvironment.require()
        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let name = "hs_test_\(suffix)"
        try await PostgresConnection.withConnection(adminURL, logger: logger) { admin in
            try await admin.execute("CREATE DATABASE \(quoteIdentifier(name))")
        }
        let databaseURL = try replacingDatabase(in: adminURL, with: name)
        let db = try await PostgresConnection.connect(databaseURL, applicationName: "hacksync-test", logger: logger)
        try await DeclaredSQL.migrator(directory: TestEnvironment.triggers).migrate(db, logger: logger)
        let es = ElasticsearchClient(url: try ElasticsearchURL(esURL), http: ElasticsearchClient.sharedHTTPClient, logger: logger)
        let fixture = SyncFixture(adminURL: adminURL, databaseName: name, databaseURL: databaseURL, elasticsearchURL: esURL,
                                  prefix: "t\(suffix)_", db: db, es: es, logger: logger)
        try await fixture.indexes.ensure()
        return fixture
    }

    static func replacingDatabase(in url: String, with name: String) throws -> String {
        guard var components = URLComponents(string: url), components.scheme?.hasPrefix("postgres") == true else {
            throw TestSetupError("HACKSYNC_TEST_DATABASE_URL must be a postgresql:// URI")
        }
        components.path = "/" + name
        return components.string!
    }

    /// Starts the listener and the sync engine in this process.
    /// `ensureIndexes` replaces plain index creation (the service passes its `IndexGuard`).
    func startSync(_ configuration: SyncConfiguration = .init(),
                   ensureIndexes: (@Sendable () async throws -> Void)? = nil,
                   store wrap: (@Sendable (any ChangeStore) -> any ChangeStore)? = nil) async throws {
        let statistics = SyncStatistics()
        let wake = WakeSignal()
        let store = PostgresChangeStore(database: connector, leadership: Leadership(logger: logger))
        let engine = SyncEngine(
            store: wrap?(store) ?? store,
            index: ElasticsearchDocumentIndex(client: es, indexes: indexes, ensureIndexes: ensureIndexes, logger: logger),
            wake: wake, configuration: configuration, statistics: statistics, logger: logger)
        let listener = ChangeListener(database: connector, wake: wake, statistics: statistics,
                                      retry: configuration.retry, logger: logger)
        let group = ServiceGroup(services: [engine, listener], logger: logger)
        let task = Task { try await group.run() }
        syncRun = (group, task, statistics)
        try await eventually(timeout: .seconds(10), "listener connected") {
            statistics.snapshot.listening ? nil : "not listening yet"
        }
    }

    /// Stops the in-process sync gracefully (the batch in flight finishes).
    func stopSync() async {
        guard let run = syncRun else { return }
        syncRun = nil
        await run.group.triggerGracefulShutdown()
        _ = try? await run.task.value
    }

    /// A new connection for the test's own queries (after Postgres restarted).
    func reconnect() async throws {
        await db.close()
        var connection: PostgresConnection?
        try await eventually(timeout: .seconds(30), "Postgres to accept connections") {
            do {
                connection = try await PostgresConnection.connect(databaseURL, applicationName: "hacksync-test", logger: logger)
                return nil
            } catch {
                return "\(error)"
            }
        }
        db = connection!
    }

    func tearDown() async {
        await stopSync()
        await db.close()
        for entity in Entity.allCases {
            for index in (try? await es.indexNames(startingWith: indexes.alias(for: entity))) ?? [] {
                try? await es.deleteIndex(index)
            }
        }
        _ = try? await PostgresConnection.withConnection(adminURL, logger: logger) { admin in
            try await admin.execute("DROP DATABASE IF EXISTS \(quoteIdentifier(databaseName)) WITH (FORCE)")
        }
    }

    // MARK: - Writing

    @discardableResult
    func sql(_ text: String, _ parameters: [(any PostgresEncodable)?] = []) async throws -> PostgresRows {
        try await db.query(text, parameters)
    }

    func insertUser(_ username: String, name: String? = nil, email: String? = nil) async throws -> Int64 {
        try await sql("INSERT INTO users (username, email, name) VALUES ($1, $2, $3) RETURNING id",
                      [username, email ?? "\(username)@example.org", name ?? username.capitalized]).rows[0].int64(0)!
    }

    func insertHackathon(_ name: String, startsAt: String = "2026-05-01T09:00:00Z") async throws -> Int64 {
        try await sql("INSERT INTO hackathons (name, starts_at, tracks) VALUES ($1, $2::timestamptz, '{ai,climate}') RETURNING id",
                      [name, startsAt]).rows[0].int64(0)!
    }

    func insertProject(_ name: String, hackathon: Int64, createdBy: Int64?, members: [Int64] = []) async throws -> Int64 {
        let id = try await sql("INSERT INTO projects (hackathon_id, created_by, name) VALUES ($1, $2, $3) RETURNING id",
                               [hackathon, createdBy, name]).rows[0].int64(0)!
        if !members.isEmpty {
            try await sql("INSERT INTO project_members (project_id, user_id) SELECT $1, unnest($2::bigint[])", [id, members])
        }
        return id
    }

    // MARK: - Reading

    /// What Postgres says the documents of an entity should be, by id.
    func expectedDocuments(_ entity: Entity) async throws -> [Int64: JSONValue] {
        let table = DocumentDeclarations.declaration(entity).table
        let rows = try await sql("SELECT id, doc::text FROM sync.\(entity.rawValue)_documents(ARRAY(SELECT id FROM \(table)))")
        var result: [Int64: JSONValue] = [:]
        for row in rows.rows { result[row.int64(0)!] = try JSONValue.parse(row[1]!) }
        return result
    }

    /// What the search index holds for an entity, by id (in pages by id:
    /// a single search stops at 10,000 hits).
    func indexedDocuments(_ entity: Entity) async throws -> [Int64: JSONValue] {
        let alias = indexes.alias(for: entity)
        try await es.refresh(alias)
        var result: [Int64: JSONValue] = [:]
        var cursor: Int64 = 0
        while true {
            let body = #"{"size":5000,"sort":[{"id":"asc"}],"query":{"range":{"id":{"gt":\#(cursor)}}}}"#
            let response = try await es.expectSuccess(.POST, "/\(alias)/_search", json: body)
            let hits = try JSONValue.parse(response.text)[path: "hits.hits"]?.array ?? []
            for hit in hits {
                guard let id = hit["_id"]?.string.flatMap(Int64.init), let source = hit["_source"] else { continue }
                result[id] = source
                cursor = max(cursor, id)
            }
            if hits.count < 5000 { return result }
        }
    }

    /// One indexed document, or nil when absent.
    func indexed(_ entity: Entity, _ id: Int64) async throws -> JSONValue? {
        let response = try await es.send(.GET, "/\(indexes.alias(for: entity))/_doc/\(id)")
        if response.status == 404 { return nil }
        let body = try JSONValue.parse(response.text)
        return body["found"] == .bool(true) ? body["_source"] : nil
    }

    /// A description of every difference between Postgres and the index, or nil.
    func differences() async throws -> String? {
        var problems: [String] = []
        for entity in Entity.allCases {
            let expected = try await expectedDocuments(entity)
            let actual = try await indexedDocuments(entity)
            for (id, doc) in expected where actual[id] != doc {
                problems.append("\(entity)/\(id): expected \(doc), indexed \(actual[id].map(\.description) ?? "nothing")")
            }
            for id in actual.keys where expected[id] == nil {
                problems.append("\(entity)/\(id): indexed but gone from Postgres")
            }
        }
        return problems.isEmpty ? nil : "\(problems.count) differences, e.g. " + problems.prefix(3).joined(separator: "; ")
    }

    /// Waits until every document in the index equals what Postgres says.
    func waitForConvergence(timeout: Duration = .seconds(30)) async throws {
        try await eventually(timeout: timeout, "the index to equal Postgres") { try await differences() }
    }

    /// Waits until no change is pending in the log.
    func waitForDrain(timeout: Duration = .seconds(30)) async throws {
        try await eventually(timeout: timeout, "the change log to drain") {
            let pending = try await sql("SELECT count(*) FROM sync.changes WHERE processed_at IS NULL").scalar ?? "?"
            return pending == "0" ? nil : "\(pending) changes pending"
        }
    }

    /// The in-process sync's counters once they include every change in the
    /// log. The log is marked processed inside the settle transaction and the
    /// counters move just after it commits, so a drained log alone does not
    /// mean the counters are up to date.
    func settledStatistics(timeout: Duration = .seconds(30)) async throws -> SyncStatistics.Snapshot {
        guard let statistics else { throw TestSetupError("the sync is not running in this process") }
        let total = Int(try await sql("SELECT count(*) FROM sync.changes").scalar ?? "0") ?? 0
        try await eventually(timeout: timeout, "the sync's counters to include \(total) changes") {
            let synced = statistics.snapshot.changesSynced
            return synced >= total ? nil : "\(synced) counted"
        }
        return statistics.snapshot
    }

    /// Waits for one document to match a condition.
    func waitFor(_ entity: Entity, _ id: Int64, timeout: Duration = .seconds(30), _ what: String,
                 _ condition: @escaping (JSONValue?) -> Bool) async throws {
        try await eventually(timeout: timeout, "\(entity)/\(id): \(what)") {
            let doc = try await indexed(entity, id)
            return condition(doc) ? nil : "currently \(doc.map(\.description) ?? "absent")"
        }
    }
}
