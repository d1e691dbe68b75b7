import Synchronization

/// A value computed at most once per `maxAge`, however many callers ask:
/// concurrent callers share one computation in flight, later ones get the
/// result until it is `maxAge` old. Keeps polled endpoints (status pages,
/// readiness probes, many dashboards) from each calling Elasticsearch.
final class RecentValue<Value: Sendable>: Sendable {
    private let maxAge: Duration
    private let compute: @Sendable () async -> Value
    private struct State {
        var value: Value?
        var computedAt: ContinuousClock.Instant?
        var running: Task<Value, Never>?
    }
    private let state = Mutex(State())
    private enum Lookup { case fresh(Value), wait(Task<Value, Never>) }

    init(maxAge: Duration, _ compute: @escaping @Sendable () async -> Value) {
        self.maxAge = maxAge
        self.compute = compute
    }

    func get() async -> Value {
        let lookup = state.withLock { s -> Lookup in
            if let value = s.value, let at = s.computedAt, ContinuousClock.now - at < maxAge { return .fresh(value) }
            if let running = s.running { return .wait(running) }
            // The task stores its own result: a waiter that wakes late must
            // not overwrite a newer value or clear a newer computation.
            let task = Task {
                let value = await self.compute()
                self.state.withLock { s in
                    s.value = value
                    s.computedAt = .now
                    s.running = nil
                }
                return value
            }
            s.running = task
            return .wait(task)
        }
        switch lookup {
        case .fresh(let value): return value
        case .wait(let task): return await task.value
        }
    }
}
