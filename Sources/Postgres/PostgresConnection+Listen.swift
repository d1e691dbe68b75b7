import CLibPQ
import Foundation

/// A notification received on a LISTEN channel.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    public var backendPID: Int32
}

extension PostgresConnection {
    /// LISTENs on `channel` and streams its notifications until the stream is
    /// dropped or the connection fails (the stream then throws). The
    /// connection is dedicated to listening from then on.
    public func notifications(channel: String) async throws -> AsyncThrowingStream<PostgresNotification, Error> {
        try await notifications(channels: [channel])
    }

    /// Notifications of several channels on one connection (each says its `channel`).
    public func notifications(channels: [String]) async throws -> AsyncThrowingStream<PostgresNotification, Error> {
        try await execute(channels.map { "LISTEN " + quoteIdentifier($0) }.joined(separator: "; "))
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: PostgresNotification.self)
        let stopped = StopFlag()
        continuation.onTermination = { _ in stopped.stop() }
        pollNotifications(until: stopped) { event in
            switch event {
            case .notification(let n): continuation.yield(n)
            case .failed(let error): continuation.finish(throwing: error)
            case .stopped: continuation.finish()
            }
        }
        return stream
    }
}

/// Quotes an SQL identifier ("a""b").
public func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

final class StopFlag: Sendable {
    private let flag = Mutex(false)
    func stop() { flag.withLock { $0 = true } }
    var isStopped: Bool { flag.withLock { $0 } }
}

import Synchronization
