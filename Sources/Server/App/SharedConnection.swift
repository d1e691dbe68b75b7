import Logging
import Postgres

/// One Postgres connection shared by the read-only admin endpoints, opened on
/// first use and replaced after a connection error. Queries on a connection
/// run one at a time, so concurrent requests queue instead of each paying a
/// new connection (a few milliseconds, and a backend per request).
actor SharedConnection {
    let databaseURL: String
    let logger: Logger
    private var connection: PostgresConnection?

    init(databaseURL: String, logger: Logger) {
        self.databaseURL = databaseURL
        self.logger = logger
    }

    func with<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let db = try await current()
        do {
            return try await body(db)
        } catch let error as PostgresError where error.isConnectionError {
            if connection === db { connection = nil }
            await db.close()
            throw error
        }
    }

    private func current() async throws -> PostgresConnection {
        if let connection { return connection }
        let db = try await PostgresConnection.connect(databaseURL, applicationName: "hacksync-admin", logger: logger)
        connection = db
        return db
    }
}
