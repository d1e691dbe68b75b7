import Foundation
import Logging
import Model
import ServiceLifecycle
import Sync
import Synchronization
import Testing

/// The engine against an in-memory change log and a scripted index: how it
/// behaves when the index is overloaded or down, without servers.
@Suite struct SyncEngineTests {
    @Test func anOverloadedIndexShrinksTheBatchUntilItPassesThenItGrowsBack() async throws {
        let store = MemoryChangeStore(pending: 300)
        // Accepts at most 40 documents per request, as a cluster answering 429 would.
        let index = ScriptedIndex { documents in
            documents > 40 ? .failure(IndexWriteError(overloaded: true, "429 Too Many Requests")) : .success(())
        }
        var configuration = SyncConfiguration()
        configuration.batchSize = 200
        configuration.retry = RetryPolicy(base: .milliseconds(1), cap: .milliseconds(2))
        configuration.circuitBreaker = CircuitBreaker(threshold: 100)
        try await runEngine(store: store, index: index, configuration: configuration) { statistics in
            try await eventually { store.pendingCount == 0 }
            #expect(index.accepted.allSatisfy { $0 <= 40 })
            #expect(index.refused.first == 200)
            #expect(index.refused.count <= 12, "halved on each 429, grown back only by full batches: \(index.refused)")
            #expect(statistics.snapshot.batchLimit <= 40 * 5 / 4 + 1)

            // The cluster recovers: full batches grow the limit back to the maximum.
            index.setPolicy { _ in .success(()) }
            store.add(3000)
            try await eventually { store.pendingCount == 0 }
            #expect(statistics.snapshot.batchLimit == 200)
            #expect(index.accepted.suffix(3).contains(200))
        }
        #expect(store.settledCount == 3300, "every change settled exactly once")
    }

    @Test func theBreakerStopsHammeringADownIndexAndProbesItBackOneBatchAtATime() async throws {
        let store = MemoryChangeStore(pending: 50)
        let down = Mutex(true)
        let index = ScriptedIndex { _ in
            down.withLock { $0 } ? .failure(IndexWriteError(overloaded: false, "connection refused")) : .success(())
        }
        var configuration = SyncConfiguration()
        configuration.batchSize = 10
        configuration.retry = RetryPolicy(base: .milliseconds(1), cap: .milliseconds(2))
        configuration.circuitBreaker = CircuitBreaker(threshold: 3, cooldown: .milliseconds(200), maximumCooldown: .milliseconds(400))
        try await runEngine(store: store, index: index, configuration: configuration) { statistics in
            let start = ContinuousClock.now
            try await eventually { statistics.snapshot.circuit == "open" }
            // Two probes after it opened: they come one at a time, at least 200 ms apart.
            try await eventually { index.refused.count >= 5 }
            let attempts = index.refused.count
            let elapsed = ContinuousClock.now - start
            // Without the breaker, 2 ms backoffs send a request every few ms. With it: the 3 that
            // opened it, then at most one probe per 200 ms cool-down (a slow machine only lowers this).
            #expect(attempts <= 4 + Int(elapsed / .milliseconds(200)), "\(attempts) requests in \(elapsed)")
            #expect(index.maximumInFlightSinceFirstOpen <= 1, "probes go one at a time")

            down.withLock { $0 = false }
            try await eventually { store.pendingCount == 0 }
            #expect(statistics.snapshot.circuit == "closed")
        }
        #expect(store.settledCount == 50)
    }

    private func runEngine(store: MemoryChangeStore, index: ScriptedIndex, configuration: SyncConfiguration,
                           _ body: (SyncStatistics) async throws -> Void) async throws {
        let statistics = SyncStatistics()
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let engine = SyncEngine(store: store, index: index, wake: WakeSignal(), configuration: configuration,
                                statistics: statistics, logger: logger)
        index.statistics = statistics
        let group = ServiceGroup(services: [engine], logger: logger)
        let run = Task { try await group.run() }
        do {
            try await body(statistics)
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await run.value
            throw error
        }
        await group.triggerGracefulShutdown()
        try await run.value
    }

    private func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TimedOut() }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    struct TimedOut: Error {}
}

/// A change log in memory: each change affects one user document.
final class MemoryChangeStore: ChangeStore {
    private struct State {
        var pending: [Int64] = []
        var nextSeq: Int64 = 1
        var settled = 0
    }
    private let state = Mutex(State())

    init(pending: Int) { add(pending) }

    func add(_ count: Int) {
        state.withLock { s in
            for _ in 0..<count {
                s.pending.append(s.nextSeq)
                s.nextSeq += 1
            }
        }
    }

    var pendingCount: Int { state.withLock { $0.pending.count } }
    var settledCount: Int { state.withLock { $0.settled } }

    func nextBatch(limit: Int, excluding: Set<Int64>, scope: ClaimScope) async throws -> ChangeBatch? {
        let (seqs, horizon) = state.withLock { s in
            let open = s.pending.lazy.filter { !excluding.contains($0) }
            let seqs = switch scope {
            case .oldest: Array(open.prefix(limit))
            case .above(let after): Array(open.filter { $0 > after }.reversed().prefix(limit)).sorted()
            case .newestBeyondOldest(let count): Array(open.dropFirst(count).reversed().prefix(limit)).sorted()
            }
            return (seqs, s.nextSeq - 1)
        }
        guard !seqs.isEmpty else { return nil }
        let documents = seqs.map { DocumentState(ref: DocumentRef(.users, $0), json: #"{"id":\#($0)}"#) }
        return ChangeBatch(seqs: seqs, oldestCapturedAt: Date(), newestCapturedAt: "",
                           documents: DocumentBatch(version: seqs.last!, documents: documents), horizon: horizon)
    }

    func armWakeUp() async throws -> WakeUpArming {
        pendingCount > 0 ? .pending : .armed
    }

    func settle(_ batch: ChangeBatch, applied: [DocumentState], rejected: [RejectedDocument]) async throws -> [DocumentEvent] {
        state.withLock { s in
            let done = Set(batch.seqs)
            s.pending.removeAll { done.contains($0) }
            s.settled += batch.seqs.count
        }
        return []
    }
}

/// An index whose answer to each request (by its document count) is scripted.
final class ScriptedIndex: DocumentIndex, @unchecked Sendable {
    // @unchecked: every mutable field is behind `state`; `statistics` is set before the engine starts.
    typealias Policy = @Sendable (Int) -> Result<Void, IndexWriteError>
    private struct State {
        var policy: Policy
        var accepted: [Int] = []
        var refused: [Int] = []
        var inFlight = 0
        var maximumInFlightSinceFirstOpen = 0
    }
    private let state: Mutex<State>
    var statistics: SyncStatistics?

    init(_ policy: @escaping Policy) { state = Mutex(State(policy: policy)) }

    func setPolicy(_ policy: @escaping Policy) { state.withLock { $0.policy = policy } }
    var accepted: [Int] { state.withLock { $0.accepted } }
    var refused: [Int] { state.withLock { $0.refused } }
    var maximumInFlightSinceFirstOpen: Int { state.withLock { $0.maximumInFlightSinceFirstOpen } }

    func write(_ batch: DocumentBatch) async throws -> [DocumentRef: WriteOutcome] {
        let count = batch.documents.count
        let opened = statistics.map { $0.snapshot.circuit != "closed" } ?? false
        let policy = state.withLock { s in
            s.inFlight += 1
            if opened { s.maximumInFlightSinceFirstOpen = max(s.maximumInFlightSinceFirstOpen, s.inFlight) }
            return s.policy
        }
        try? await Task.sleep(for: .milliseconds(2))
        let result = policy(count)
        state.withLock { s in
            s.inFlight -= 1
            switch result {
            case .success: s.accepted.append(count)
            case .failure: s.refused.append(count)
            }
        }
        switch result {
        case .success: return Dictionary(uniqueKeysWithValues: batch.documents.map { ($0.ref, WriteOutcome.applied) })
        case .failure(let error): throw error
        }
    }
}
