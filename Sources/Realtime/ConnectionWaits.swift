import Synchronization

/// The `wait` requests of one connection, run beside the requests that
/// follow them. The task that runs them is started by the first wait, so
/// a connection that never waits holds none; `finish` cancels what is
/// still waiting and returns when it has ended.
final class ConnectionWaits: Sendable {
    private typealias Work = @Sendable () async -> Void
    private struct State {
        var requests: AsyncStream<Work>.Continuation?
        var runner: Task<Void, Never>?
        var finished = false
    }
    private let state = Mutex(State())

    /// Runs `work` beside the caller; false once the connection finished.
    @discardableResult
    func run(_ work: @escaping @Sendable () async -> Void) -> Bool {
        state.withLock { s in
            guard !s.finished else { return false }
            if s.requests == nil {
                let (requests, continuation) = AsyncStream.makeStream(of: Work.self)
                s.requests = continuation
                s.runner = Task {
                    await withDiscardingTaskGroup { group in
                        for await work in requests { group.addTask { await work() } }
                    }
                }
            }
            s.requests?.yield(work)
            return true
        }
    }

    /// Cancels the waits still running and returns when they ended.
    func finish() async {
        let runner = state.withLock { s -> Task<Void, Never>? in
            s.finished = true
            s.requests?.finish()
            return s.runner
        }
        runner?.cancel()
        await runner?.value
    }
}
