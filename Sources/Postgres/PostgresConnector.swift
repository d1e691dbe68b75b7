import Logging

/// The one place connections come from: the database's address, kept out of
/// every type that needs Postgres. A role gets either a shared connection
/// that is reopened after it breaks (`shared`), or a connection of its own
/// per operation (`withConnection`) for work that holds a transaction, a
/// lock or a long scan and must not queue the others behind it.
public struct PostgresConnector: Sendable {
    let conninfo: String
    public let logger: Logger

    public init(_ conninfo: String, logger: Logger) {
        self.conninfo = conninfo
        self.logger = logger
    }

    /// Opens a new connection; the caller closes it.
    public func connect(applicationName: String) async throws -> PostgresConnection {
        try await PostgresConnection.connect(conninfo, applicationName: applicationName, logger: logger)
    }

    /// Runs `body` on a new connection and closes it afterwards.
    public func withConnection<T: Sendable>(
        applicationName: String, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await PostgresConnection.withConnection(conninfo, applicationName: applicationName, logger: logger, body)
    }

    /// A connection shared by one role's callers, opened on first use and
    /// again after it broke; `setup` runs on each new one before it is used.
    public func shared(applicationName: String, setup: ManagedConnection.Setup? = nil) -> ManagedConnection {
        ManagedConnection(self, applicationName: applicationName, setup: setup)
    }
}
