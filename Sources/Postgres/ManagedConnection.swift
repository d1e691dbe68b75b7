
/// One connection for one role (the admin endpoints, the event log, the
/// sync, ...), opened on first use and opened again after it broke. Its
/// queries run one at a time, so concurrent callers queue instead of each
/// paying for a connection (a few milliseconds, and a backend each).
///
/// `setup` runs on every new connection before it is used: the sync's
/// connection waits there for the leader lock.
public actor ManagedConnection {
    public typealias Setup = @Sendable (PostgresConnection) async throws -> Void

    public let applicationName: String
    let queryTimeout: Duration?
    let connector: PostgresConnector
    let setup: Setup?
    private var connection: PostgresConnection?
    /// The open in progress: callers arriving meanwhile wait for it instead of opening another.
    private var opening: Task<PostgresConnection, any Error>?

    /// Made by `PostgresConnector.shared(applicationName:setup:)`.
    init(_ connector: PostgresConnector, applicationName: String, queryTimeout: Duration?, setup: Setup?) {
        self.connector = connector
        self.applicationName = applicationName
        self.queryTimeout = queryTimeout
        self.setup = setup
    }

    /// Runs `body` on the connection, opening it first if there is none or
    /// it broke. A connection error (or a connection that broke meanwhile)
    /// drops it: the next call opens a new one.
    public func with<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await current()
        do {
            return try await body(connection)
        } catch let error as PostgresError where error.isConnectionError || !connection.isHealthy {
            if self.connection === connection { self.connection = nil }
            await connection.close()
            throw error
        }
    }

    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) async throws -> PostgresRows {
        try await with { try await $0.query(sql, parameters) }
    }

    /// Closes the connection (the next call opens a new one).
    public func close() async {
        guard let connection else { return }
        self.connection = nil
        await connection.close()
    }

    private func current() async throws -> PostgresConnection {
        if let connection, connection.isHealthy { return connection }
        if let opening { return try await opening.value }
        let stale = connection
        connection = nil
        let task = Task { [connector, applicationName, queryTimeout, setup] in
            if let stale { await stale.close() }
            let fresh = try await connector.connect(applicationName: applicationName, queryTimeout: queryTimeout)
            do {
                try await setup?(fresh)
            } catch {
                await fresh.close()
                throw error
            }
            return fresh
        }
        opening = task
        defer { opening = nil }
        let fresh = try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
        connection = fresh
        return fresh
    }
}
