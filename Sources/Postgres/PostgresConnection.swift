import CLibPQ
import Foundation
import Logging
import Synchronization

/// One libpq connection.
///
/// libpq calls block, so every call for this connection runs on its own serial
/// dispatch queue, never on Swift's cooperative thread pool (two threads on
/// this machine: one blocked query would stall the whole service).
public final class PostgresConnection: @unchecked Sendable {
    // @unchecked Sendable: `conn` is read and written only on `queue`, a serial
    // queue; `cancelHandle` is libpq's thread-safe cancel object, guarded by a Mutex.
    private let queue: DispatchQueue
    private var conn: OpaquePointer?
    private let cancelHandle = Mutex<PQHandle?>(nil)
    /// Prepared statements by SQL text; touched only on `queue`. Repeated
    /// queries (the sync's claim, read and settle) skip parsing and planning.
    private var preparedStatements: [String: String] = [:]
    /// Dynamic SQL beyond this many distinct texts runs unprepared.
    private static let maxPreparedStatements = 128
    /// The LISTEN poll loop's stop flag, while one runs on `queue`.
    private let pollLoop = Mutex<StopFlag?>(nil)
    /// libpq's connection status as of the last call on `queue`: read without
    /// waiting for the queue (a query may hold it for long).
    private let healthy = Atomic<Bool>(true)
    /// The backend's process id (for tests that terminate it); fixed for the connection's life.
    public let backendPID: Int32
    public let logger: Logger
    /// How long a statement may run: the server cancels it after this
    /// (`statement_timeout`), and a server that does not answer at all
    /// within it and `answerGrace` more is given up on. nil: no limit.
    public let queryTimeout: Duration?
    /// Past the statement timeout, how long a live server gets to send its
    /// own cancellation before the connection is presumed hung.
    static let answerGrace: Duration = .seconds(1)

    /// A libpq handle crossing from the connection's queue to its owner.
    /// @unchecked Sendable: a PGconn is only dereferenced on the owning
    /// connection's serial queue; a PGcancel is thread-safe by libpq's contract.
    struct PQHandle: @unchecked Sendable {
        let raw: OpaquePointer
    }

    private init(queue: DispatchQueue, conn: OpaquePointer, queryTimeout: Duration?, logger: Logger) {
        self.queue = queue
        self.conn = conn
        self.queryTimeout = queryTimeout
        self.logger = logger
        backendPID = PQbackendPID(conn)
        let cancel = PQgetCancel(conn).map(PQHandle.init)
        cancelHandle.withLock { $0 = cancel }
    }

    deinit {
        if let conn { PQfinish(conn) }
        cancelHandle.withLock { if let c = $0 { PQfreeCancel(c.raw) } }
    }

    /// Opens a connection. `conninfo` is a URI or a libpq key/value string;
    /// its own settings win over the defaults given here (a connect timeout
    /// of `connectTimeoutSeconds`, TCP keepalives). `queryTimeout` bounds
    /// every statement on it (see the property).
    public static func connect(
        _ conninfo: String,
        applicationName: String = "hacksync",
        queryTimeout: Duration? = nil,
        logger: Logger
    ) async throws -> PostgresConnection {
        let queue = DispatchQueue(label: "hacksync.postgres.\(applicationName)")
        let handle: PQHandle = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                // Defaults first: with expand_dbname the caller's string overrides them.
                let pairs: [(String, String)] = [
                    ("application_name", applicationName),
                    ("connect_timeout", String(connectTimeoutSeconds)),
                    ("keepalives", "1"),
                    ("keepalives_idle", "10"),
                    ("keepalives_interval", "5"),
                    ("keepalives_count", "3"),
                    // Unacknowledged data (a statement sent into a cut network) fails
                    // the connection after this, as keepalives do for an idle one.
                    ("tcp_user_timeout", "30000"),
                    ("dbname", conninfo),
                ]
                let keys = pairs.map { strdup($0.0) }
                let values = pairs.map { strdup($0.1) }
                defer { keys.forEach { free($0) }; values.forEach { free($0) } }
                var keyPointers = keys.map { UnsafePointer($0) } + [nil]
                var valuePointers = values.map { UnsafePointer($0) } + [nil]
                guard let conn = PQconnectdbParams(&keyPointers, &valuePointers, 1) else {
                    continuation.resume(throwing: PostgresError(.connectionFailed, "out of memory"))
                    return
                }
                if PQstatus(conn) != CONNECTION_OK {
                    let message = String(cString: PQerrorMessage(conn))
                    PQfinish(conn)
                    continuation.resume(throwing: PostgresError(.connectionFailed, message))
                    return
                }
                continuation.resume(returning: PQHandle(raw: conn))
            }
        }
        let connection = PostgresConnection(queue: queue, conn: handle.raw, queryTimeout: queryTimeout, logger: logger)
        // Documents carry timestamps; render them the same way whatever the server's default.
        let milliseconds = queryTimeout.map { Int($0 / .milliseconds(1)) } ?? 0
        try await connection.execute("SET TimeZone = 'UTC'; SET client_min_messages = warning; SET statement_timeout = \(milliseconds)")
        return connection
    }

    /// A server that has not completed the connection by then (down behind
    /// a firewall that drops packets, or hung) fails the connect.
    public static let connectTimeoutSeconds = 5

    /// Runs `body` with a new connection and closes it afterwards.
    public static func withConnection<T: Sendable>(
        _ conninfo: String,
        applicationName: String = "hacksync",
        queryTimeout: Duration? = nil,
        logger: Logger,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await connect(conninfo, applicationName: applicationName, queryTimeout: queryTimeout, logger: logger)
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Closes the connection. Further calls fail with `.closed`.
    public func close() async {
        // A poll loop holds the queue; stop it first or the close below never runs.
        pollLoop.withLock { $0?.stop() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                if let conn = self.conn { PQfinish(conn) }
                self.conn = nil
                self.healthy.store(false, ordering: .relaxed)
                continuation.resume()
            }
        }
        cancelHandle.withLock { if let c = $0 { PQfreeCancel(c.raw) }; $0 = nil }
    }

    /// Runs one parameterized statement and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) async throws -> PostgresRows {
        let texts = parameters.map { $0?.postgresText }
        return try await run { conn in
            let cStrings = texts.map { $0.map { strdup($0) } ?? nil }
            defer { cStrings.forEach { free($0) } }
            let pointers = cStrings.map { UnsafePointer($0) }
            let statement = try self.preparedStatement(for: sql, parameterCount: texts.count, conn: conn)
            let sent = pointers.withUnsafeBufferPointer { buffer in
                if let statement {
                    return PQsendQueryPrepared(conn, statement, Int32(texts.count), buffer.baseAddress, nil, nil, 0)
                }
                return PQsendQueryParams(conn, sql, Int32(texts.count), nil, buffer.baseAddress, nil, nil, 0)
            }
            return try self.finish(sent: sent, conn)
        }
    }

    /// The name of a prepared statement for `sql`, preparing it on first use.
    /// Runs on `queue`.
    private func preparedStatement(for sql: String, parameterCount: Int, conn: OpaquePointer) throws -> String? {
        if let name = preparedStatements[sql] { return name }
        guard preparedStatements.count < Self.maxPreparedStatements else { return nil }
        let name = "hs\(preparedStatements.count)"
        _ = try finish(sent: PQsendPrepare(conn, name, sql, Int32(parameterCount), nil), conn)
        preparedStatements[sql] = name
        return name
    }

    /// Runs one or more statements without parameters (simple query protocol).
    /// Only for fixed SQL: migrations, SET, BEGIN/COMMIT.
    public func execute(_ sql: String) async throws {
        _ = try await run { conn in try self.finish(sent: PQsendQuery(conn, sql), conn) }
    }

    /// Runs `COPY … FROM STDIN` (text format) with `data` as its input
    /// (`PostgresCopyText` writes it) and returns the rows copied.
    @discardableResult
    public func copyIn(_ sql: String, _ data: [UInt8]) async throws -> Int {
        try await run { conn in
            let started = try self.awaitResult(sent: PQsendQuery(conn, sql), conn)
            guard let started, PQresultStatus(started) == PGRES_COPY_IN else {
                _ = try Self.consume(started, conn: conn)  // throws its error
                throw PostgresError(.queryFailed, "not a COPY FROM STDIN: \(sql)")
            }
            PQclear(started)
            let chunk = 1 << 20
            var offset = 0
            var sent: Int32 = 1
            data.withUnsafeBufferPointer { buffer in
                while offset < buffer.count, sent == 1 {
                    let size = min(chunk, buffer.count - offset)
                    sent = buffer.baseAddress!.advanced(by: offset).withMemoryRebound(to: CChar.self, capacity: size) {
                        PQputCopyData(conn, $0, Int32(size))
                    }
                    offset += size
                }
            }
            let ended = sent == 1 ? PQputCopyEnd(conn, nil) : PQputCopyEnd(conn, "the copy data could not be sent")
            return try self.finish(sent: ended == 1 ? 1 : 0, conn).affectedRows
        }
    }

    /// Runs `body` inside BEGIN/COMMIT; rolls back when it throws.
    public func transaction<T: Sendable>(
        _ begin: String = "BEGIN",
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await execute(begin)
        do {
            let result = try await body(self)
            try await execute("COMMIT")
            return result
        } catch {
            try? await execute("ROLLBACK")
            throw error
        }
    }

    /// True while libpq believes the connection is usable (as of its last call).
    public var isHealthy: Bool { healthy.load(ordering: .relaxed) }

    private func run<T: Sendable>(_ work: @escaping @Sendable (OpaquePointer) throws -> T) async throws -> T {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
                queue.async {
                    guard let conn = self.conn else {
                        continuation.resume(throwing: PostgresError(.closed, "connection is closed"))
                        return
                    }
                    // Given up (a timeout left a statement in flight): callers queued
                    // behind it learn why, not "another command is already in progress".
                    guard self.healthy.load(ordering: .relaxed) else {
                        continuation.resume(throwing: PostgresError(.connectionLost, "the connection was given up after a timeout or a failure"))
                        return
                    }
                    let result = Result { try work(conn) }
                    // Only ever lowered: a connection that timed out stays given up.
                    if PQstatus(conn) != CONNECTION_OK { self.healthy.store(false, ordering: .relaxed) }
                    continuation.resume(with: result)
                }
            }
        } onCancel: {
            self.cancelRunningQuery()
        }
    }

    /// The rows of the statement just sent (`PQsend…`'s return value). Runs on `queue`.
    private func finish(sent: Int32, _ conn: OpaquePointer) throws -> PostgresRows {
        try Self.consume(try awaitResult(sent: sent, conn), conn: conn)
    }

    /// The result of the statement just sent, as `PQexec` would return it
    /// (the last result, or the first error), waiting at most the query
    /// timeout and its grace. A server silent past that is presumed hung:
    /// the connection is marked unhealthy (its owner closes it and opens
    /// another) and `.timeout` is thrown. Runs on `queue`.
    private func awaitResult(sent: Int32, _ conn: OpaquePointer) throws -> OpaquePointer? {
        guard sent == 1 else { return nil }  // consume() reports PQerrorMessage
        let deadline = queryTimeout.map { ContinuousClock.now + $0 + Self.answerGrace }
        var kept: OpaquePointer?
        while true {
            while PQisBusy(conn) == 1 {
                if !(try waitForInput(conn, until: deadline)) {
                    if let kept { PQclear(kept) }
                    healthy.store(false, ordering: .relaxed)
                    throw PostgresError(.timeout, "no answer from Postgres within \(queryTimeout.map { "\($0 + Self.answerGrace)" } ?? "")")
                }
                if PQconsumeInput(conn) == 0 {
                    if let kept { PQclear(kept) }
                    return nil  // the connection broke: consume() reports it
                }
            }
            guard let result = PQgetResult(conn) else { return kept }
            // COPY hands the connection over instead of ending the results (none
            // is used; PQexec stops here too), and a broken connection ends them.
            let status = PQresultStatus(result)
            if status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH || PQstatus(conn) != CONNECTION_OK {
                if let kept { PQclear(kept) }
                return result
            }
            if let previous = kept {
                if PQresultStatus(previous) == PGRES_FATAL_ERROR {
                    PQclear(result)
                    continue
                }
                PQclear(previous)
            }
            kept = result
        }
    }

    /// Waits until the connection's socket has input; false at the deadline
    /// (none: waits as long as it takes). Shared by queries and the LISTEN loop.
    private func waitForInput(_ conn: OpaquePointer, until deadline: ContinuousClock.Instant?) throws -> Bool {
        var descriptor = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
        while true {
            var milliseconds: Int32 = -1
            if let deadline {
                let left = deadline - .now
                if left <= .zero { return false }
                milliseconds = Int32(min(left / .milliseconds(1), Double(Int32.max)).rounded(.up))
            }
            let ready = poll(&descriptor, 1, milliseconds)
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR {
                throw PostgresError(.connectionLost, "poll failed: errno \(errno)")
            }
        }
    }

    /// Asks the server to cancel whatever this connection is running (PQcancel is thread-safe).
    public func cancelRunningQuery() {
        cancelHandle.withLock { handle in
            guard let handle else { return }
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(handle.raw, &buffer, Int32(buffer.count))
        }
    }

    enum ListenEvent: Sendable {
        case notification(PostgresNotification)
        case failed(PostgresError)
        case stopped
    }

    /// Occupies this connection's queue with a poll loop that reads
    /// notifications until `stopped` is set (checked every 200 ms) or the
    /// connection fails.
    func pollNotifications(until stopped: StopFlag, _ emit: @escaping @Sendable (ListenEvent) -> Void) {
        pollLoop.withLock { $0 = stopped }
        queue.async {
            defer { self.pollLoop.withLock { $0 = nil } }
            guard let conn = self.conn else {
                emit(.failed(PostgresError(.closed, "connection is closed")))
                return
            }
            while !stopped.isStopped {
                do {
                    guard try self.waitForInput(conn, until: .now + .milliseconds(200)) else { continue }
                } catch {
                    emit(.failed(error as? PostgresError ?? PostgresError(.connectionLost, "\(error)")))
                    return
                }
                if PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK {
                    self.healthy.store(false, ordering: .relaxed)
                    emit(.failed(PostgresError(.connectionLost, String(cString: PQerrorMessage(conn)))))
                    return
                }
                while let pointer = PQnotifies(conn) {
                    let note = pointer.pointee
                    emit(.notification(PostgresNotification(
                        channel: String(cString: note.relname),
                        payload: String(cString: note.extra),
                        backendPID: note.be_pid)))
                    PQfreemem(pointer)
                }
            }
            emit(.stopped)
        }
    }

    static func consume(_ result: OpaquePointer?, conn: OpaquePointer) throws -> PostgresRows {
        guard let result else {
            throw PostgresError(connectionCode(conn), String(cString: PQerrorMessage(conn)))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(columns: [], rows: [], affectedRows: Int(String(cString: PQcmdTuples(result))) ?? 0)
        case PGRES_TUPLES_OK:
            let rowCount = Int(PQntuples(result))
            let columnCount = Int(PQnfields(result))
            let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
            var rows: [[String?]] = []
            rows.reserveCapacity(rowCount)
            for r in 0..<Int32(rowCount) {
                var row: [String?] = []
                row.reserveCapacity(columnCount)
                for c in 0..<Int32(columnCount) {
                    row.append(PQgetisnull(result, r, c) == 1 ? nil : String(cString: PQgetvalue(result, r, c)))
                }
                rows.append(row)
            }
            return PostgresRows(columns: columns, rows: rows, affectedRows: rowCount)
        default:
            let message = String(cString: PQresultErrorMessage(result))
            let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let code: PostgresError.Code = PQstatus(conn) == CONNECTION_OK ? .queryFailed : .connectionLost
            throw PostgresError(code, message, sqlState: sqlState)
        }
    }

    private static func connectionCode(_ conn: OpaquePointer) -> PostgresError.Code {
        PQstatus(conn) == CONNECTION_OK ? .queryFailed : .connectionLost
    }
}
