import ArgumentParser
import Foundation
import HTTP
import Logging
import Postgres
import Server

@main
struct HackSync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hacksync",
        abstract: "Keeps Elasticsearch and live clients in step with Postgres.",
        subcommands: [Migrate.self, Serve.self, Seed.self, StatusCommand.self, WaitCommand.self, DeadLetterCommand.self, ImportCommand.self, Reindex.self, Reconcile.self, ReplicaCommand.self])
}

/// Options every command shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Postgres URI or conninfo. Default: $DATABASE_URL.")
    var databaseURL: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error. Default: $LOG_LEVEL or info.")
    var logLevel: String?

    @Option(help: "Log lines as readable text or one JSON object per line: text, json. Default: $LOG_FORMAT or text.")
    var logFormat: String?

    func resolvedDatabaseURL() throws -> String {
        guard let url = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else {
            throw ValidationError("no database: pass --database-url or set DATABASE_URL")
        }
        return url
    }

    /// Where the command's connections come from.
    func connector(logger: Logger) throws -> PostgresConnector {
        PostgresConnector(try resolvedDatabaseURL(), logger: logger)
    }

    /// Installs logging and returns the command's logger. Every line is
    /// scrubbed of credentials, of the tokens in the environment and of
    /// `secrets` (tokens given as options).
    func makeLogger(_ label: String, secrets: [String?] = []) throws -> Logger {
        let env = ProcessInfo.processInfo.environment
        let levelText = logLevel ?? env["LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
            throw ValidationError("unknown log level \(levelText): use trace, debug, info, notice, warning or error")
        }
        let formatText = logFormat ?? env["LOG_FORMAT"] ?? "text"
        guard let format = LogFormat(rawValue: formatText.lowercased()) else {
            throw ValidationError("unknown log format \(formatText): use text or json")
        }
        let known = [env["HACKSYNC_ADMIN_TOKEN"], env["HACKSYNC_PRIVATE_TOKEN"],
                     databasePassword(databaseURL ?? env["DATABASE_URL"]), databasePassword(env["ELASTICSEARCH_URL"])]
        LogSetup.bootstrap(format: format, level: level, secrets: known + secrets)
        return Logger(label: label)
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or update the schema, change log and capture triggers (idempotent).")

    @OptionGroup var common: CommonOptions

    @Option(help: "The triggers/ folder. Default: $HACKSYNC_MIGRATIONS, ./triggers, or the one beside the binary.")
    var migrations: String?

    func run() async throws {
        let logger = try common.makeLogger("hacksync.migrate")
        let migrator = try DeclaredSQL.migrator(directory: try locateMigrations(explicit: migrations))
        let applied = try await PostgresConnection.withConnection(try common.resolvedDatabaseURL(), applicationName: "hacksync-migrate", logger: logger) {
            try await migrator.migrate($0, logger: logger)
        }
        print(applied.isEmpty ? "schema is up to date" : "applied \(applied.count): \(applied.joined(separator: ", "))")
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the listener, the sync engine and the admin HTTP server until SIGTERM.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var search: SearchOptions

    @Option(help: "Admin HTTP address host:port. Default: $HACKSYNC_LISTEN or 127.0.0.1:8080.")
    var listen: String?

    @Option(help: "Token for mutating admin endpoints. Default: $HACKSYNC_ADMIN_TOKEN; none: they are refused.")
    var adminToken: String?

    @Option(help: "Keep processed change-log rows and events this long: 30s, 15m, 12h, 7d. Default: $HACKSYNC_RETENTION or 7d.")
    var retention: String?

    @Option(help: "Keep at most this many processed change-log rows and events. Default: $HACKSYNC_RETENTION_ROWS or 1000000.")
    var retentionRows: Int?

    @Option(help: "Reconcile on a schedule: an interval (1h) or a cron expression (\"0 3 * * *\", UTC). Default: $HACKSYNC_RECONCILE; none: on demand only.")
    var reconcile: String?

    @Option(help: "Change-log rows per batch.")
    var batchSize: Int?

    @Option(help: "Documents per bulk request of the live sync (a request queued behind a bulk waits for all of it).")
    var bulkDocuments: Int?

    @Flag(inversion: .prefixedNo, help: "While a backlog drains, claim edits made meanwhile beside it every 100 ms (--no-fresh-lane: strictly oldest first).")
    var freshLane = true

    @Option(help: "Seconds between catch-up scans of the change log.")
    var catchUpInterval: Double?

    @Option(help: "Token that lets WebSocket subscribers see private fields (e-mail). Default: $HACKSYNC_PRIVATE_TOKEN; none: nobody sees them.")
    var privateToken: String?

    @Option(help: "A replication slot with no subscriber, or no replies, for this long is flagged stalled: 30s, 5m. Default: $HACKSYNC_REPLICATION_STALL_AFTER or 30s.")
    var replicationStallAfter: String?

    @Option(help: "A leader that has not renewed its lease for this long is deposed by a standby: 10s, 3s. Default: $HACKSYNC_LEADER_LEASE or 10s.")
    var leaderLease: String?

    @Option(help: "Frames queued per WebSocket subscriber before it is closed as too slow (4008).")
    var wsQueueLimit: Int?

    @Option(help: "Comma-separated browser origins allowed on /ws. Default: $HACKSYNC_ALLOWED_ORIGINS; none: any.")
    var allowedOrigins: String?

    @Option(help: "Open connections on the HTTP port (admin API and /ws together); past it: 503 with Retry-After, or close 1013 on /ws. Default: $HACKSYNC_MAX_CONNECTIONS or the descriptor limit less 256.")
    var maxConnections: Int?

    @Option(help: "A request must arrive whole within this time of the server waiting for it (slow or idle clients are closed): 10s, 2s. Default: $HACKSYNC_REQUEST_TIMEOUT or 10s.")
    var requestTimeout: String?

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let logger = try common.makeLogger("hacksync", secrets: [adminToken, privateToken, databasePassword(search.elasticsearchURL)])
        var configuration = HackSyncConfiguration(databaseURL: try common.resolvedDatabaseURL(), elasticsearchURL: try search.resolvedURL())
        let address = try ListenAddress(parsing: listen ?? env["HACKSYNC_LISTEN"] ?? "127.0.0.1:8080")
        configuration.listenHost = address.host
        configuration.listenPort = address.port
        configuration.indexPrefix = search.resolvedPrefix()
        configuration.adminToken = adminToken ?? env["HACKSYNC_ADMIN_TOKEN"]
        if let text = retention ?? env["HACKSYNC_RETENTION"] {
            guard case .every(let age) = try Schedule.parse(text) else { throw ValidationError("--retention must be a duration like 7d") }
            configuration.retention.maxAge = age
        }
        if let rows = retentionRows ?? env["HACKSYNC_RETENTION_ROWS"].flatMap(Int.init) {
            guard rows >= 0 else { throw ValidationError("--retention-rows must not be negative") }
            configuration.retention.maxRows = rows
        }
        if let text = reconcile ?? env["HACKSYNC_RECONCILE"], !text.isEmpty {
            configuration.reconcileSchedule = try Schedule.parse(text)
        }
        if let batchSize {
            guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
            configuration.sync.batchSize = batchSize
        }
        if let bulkDocuments {
            guard bulkDocuments > 0 else { throw ValidationError("--bulk-documents must be positive") }
            configuration.bulkDocuments = bulkDocuments
        }
        if !freshLane { configuration.sync.freshLane = nil }
        if let catchUpInterval {
            guard catchUpInterval > 0 else { throw ValidationError("--catch-up-interval must be positive") }
            configuration.sync.catchUpInterval = .milliseconds(Int(catchUpInterval * 1000))
        }
        configuration.realtime.privateToken = privateToken ?? env["HACKSYNC_PRIVATE_TOKEN"]
        if let wsQueueLimit {
            guard wsQueueLimit > 0 else { throw ValidationError("--ws-queue-limit must be positive") }
            configuration.realtime.webSocket.maxPendingMessages = wsQueueLimit
        }
        if let origins = allowedOrigins ?? env["HACKSYNC_ALLOWED_ORIGINS"] {
            configuration.allowedOrigins = origins.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let text = maxConnections.map(String.init) ?? env["HACKSYNC_MAX_CONNECTIONS"] {
            guard let count = Int(text), count > 0 else { throw ValidationError("--max-connections must be a positive integer, got \(text)") }
            configuration.http.maxConnections = count
        }
        if let text = requestTimeout ?? env["HACKSYNC_REQUEST_TIMEOUT"] {
            guard case .every(let timeout) = try Schedule.parse(text), timeout > .zero else {
                throw ValidationError("--request-timeout must be a duration like 10s")
            }
            configuration.http.requestTimeout = .nanoseconds(Int64(timeout / .nanoseconds(1)))
        }
        if let text = replicationStallAfter ?? env["HACKSYNC_REPLICATION_STALL_AFTER"] {
            guard case .every(let after) = try Schedule.parse(text) else { throw ValidationError("--replication-stall-after must be a duration like 30s") }
            configuration.replicationStallAfter = after
        }
        if let text = leaderLease ?? env["HACKSYNC_LEADER_LEASE"] {
            guard case .every(let lease) = try Schedule.parse(text), lease >= .seconds(2) else {
                throw ValidationError("--leader-lease must be a duration of at least 2s, like 10s")
            }
            configuration.leadership.lease = lease
        }
        let service = HackSyncService(configuration: configuration, logger: logger)
        MetricsEndpoint.bootstrap(service.metrics)
        try await service.run()
    }
}

