import Synchronization

/// The work one connection runs beside its requests (replays, waits): a
/// task each, alive only while it runs, so a connection that sits idle
/// holds none. `cancelAll` when the connection closes.
final class ConnectionTasks: Sendable {
    private struct State {
        var running: [UInt64: Task<Void, Never>] = [:]
        var nextID: UInt64 = 0
        var finished = false
    }
    private let state = Mutex(State())

    /// Runs `work` in a task of its own; false once the connection finished.
    @discardableResult
    func run(_ work: @escaping @Sendable () async -> Void) -> Bool {
        state.withLock { s in
            guard !s.finished else { return false }
            s.nextID += 1
            let id = s.nextID
            // The task removes itself under the lock this insertion holds,
            // so it cannot do so before it is inserted.
            s.running[id] = Task {
                await work()
                self.state.withLock { _ = $0.running.removeValue(forKey: id) }
            }
            return true
        }
    }

    /// Cancels what is still running; nothing more starts.
    func cancelAll() {
        let running = state.withLock { s -> [Task<Void, Never>] in
            s.finished = true
            return Array(s.running.values)
        }
        for task in running { task.cancel() }
    }
}
