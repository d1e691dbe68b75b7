import Logging

/// The one place connections come from: the database's address, kept out of
/// every type that needs Postgres. A role gets either a shared connection
/// that is reopened after it breaks (`shared`), or a connection of its own
/// per operation (`withConnection`) for work that holds a transaction, a
/// lock or a long scan and must not queue the others behind it.
///
/// Every connection has a query timeout (`PostgresConnection.queryTimeout`),
/// so a hung server fails a caller in seconds instead of stalling it: the
/// roles that answer HTTP requests ask for a short one, long maintenance a
/// long one; `defaultQueryTimeout` is for the rest.
public struct PostgresConnector: Sendable {
    let conninfo: String
    public let logger: Logger

    public init(_ conninfo: String, logger: Logger) {
        self.conninfo = conninfo
        self.logger = logger
    }

    /// A statement of the sync, the listener or the event log that runs longer is cancelled.
    public static let defaultQueryTimeout: Duration = .seconds(60)
    /// For the roles behind HTTP endpoints (`/api/status`, `/metrics`, `/api/wait`).
    /// (5 s: `/api/status` counts the pending changes, which takes a
    /// second or two with millions of them.)
    public static let endpointQueryTimeout: Duration = .seconds(5)
    /// For index builds, reconciliation and pruning, whose statements scan.
    public static let maintenanceQueryTimeout: Duration = .seconds(600)

    /// Opens a new connection; the caller closes it.
    public func connect(applicationName: String, queryTimeout: Duration? = defaultQueryTimeout) async throws -> PostgresConnection {
        try await PostgresConnection.connect(conninfo, applicationName: applicationName, queryTimeout: queryTimeout, logger: logger)
    }

    /// Runs `body` on a new connection and closes it afterwards.
    public func withConnection<T: Sendable>(
        applicationName: String, queryTimeout: Duration? = defaultQueryTimeout, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await PostgresConnection.withConnection(conninfo, applicationName: applicationName, queryTimeout: queryTimeout, logger: logger, body)
    }

    /// A connection shared by one role's callers, opened on first use and
    /// again after it broke; `setup` runs on each new one before it is used.
    public func shared(applicationName: String, queryTimeout: Duration? = defaultQueryTimeout,
                       setup: ManagedConnection.Setup? = nil) -> ManagedConnection {
        ManagedConnection(self, applicationName: applicationName, queryTimeout: queryTimeout, setup: setup)
    }
}
