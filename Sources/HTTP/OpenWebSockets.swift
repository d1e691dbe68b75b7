import NIOCore
import NIOPosix
import Synchronization
import WebSocket

/// The server's open WebSocket connections, so that a shutdown can close
/// them with 1001 (no task serves them, so none would be cancelled).
final class OpenWebSockets: Sendable {
    private struct State {
        var connections: [UInt64: WebSocketConnection] = [:]
        var nextID: UInt64 = 0
    }
    private let state = Mutex(State())

    func add(_ connection: WebSocketConnection) -> UInt64 {
        state.withLock { s in
            s.nextID += 1
            s.connections[s.nextID] = connection
            return s.nextID
        }
    }

    func remove(_ id: UInt64) {
        state.withLock { _ = $0.connections.removeValue(forKey: id) }
    }

    var count: Int { state.withLock { $0.connections.count } }

    /// Starts the close handshake on every connection and returns once all
    /// have closed, or after `limit` (each gives its peer `closeTimeout`
    /// to answer, then closes on its own).
    func closeAll(_ code: WebSocketCloseCode, reason: String, limit: Duration) async {
        let connections = state.withLock { Array($0.connections.values) }
        for connection in connections { connection.startClose(code, reason: reason) }
        let deadline = ContinuousClock.now + limit
        // Not Task.sleep: a cancelled task (the server's, at shutdown) would spin.
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        while count > 0, ContinuousClock.now < deadline {
            try? await loop.scheduleTask(in: .milliseconds(20)) {}.futureResult.get()
        }
    }
}
