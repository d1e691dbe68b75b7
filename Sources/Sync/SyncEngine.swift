import Foundation
import Logging
import ServiceLifecycle

/// Drains the change log into the search index.
///
/// Wakes on a signal (a NOTIFY) or every `catchUpInterval`, claims pending
/// changes in batches, writes the documents they affect and settles the
/// changes only after the index acknowledged every document. Captures
/// NOTIFY only while the engine sleeps armed (`IdleSchedule`). A failure
/// leaves the changes pending: the change log is the buffer, and the next
/// attempt re-reads current state from Postgres.
public final class SyncEngine: Service {
    let store: any ChangeStore
    let index: any DocumentIndex
    let wake: WakeSignal
    let configuration: SyncConfiguration
    let statistics: SyncStatistics
    let eventSink: (any EventSink)?
    let logger: Logger

    public init(
        store: any ChangeStore,
        index: any DocumentIndex,
        wake: WakeSignal,
        configuration: SyncConfiguration = .init(),
        statistics: SyncStatistics = .init(),
        eventSink: (any EventSink)? = nil,
        logger: Logger
    ) {
        self.store = store
        self.index = index
        self.eventSink = eventSink
        self.wake = wake
        self.configuration = configuration
        self.statistics = statistics
        self.logger = logger
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await drainForever()
        } onGracefulShutdown: {
            self.wake.signal()
        }
    }

    private struct Completed: Sendable {
        var id: Int
        var batch: ChangeBatch
        var result: Result<[DocumentRef: WriteOutcome], any Error>
        /// The batch limit the batch was claimed with.
        var claimLimit: Int
        /// Time spent claiming and reading the batch, and writing it.
        var readTime: Duration
        var writeTime: Duration
    }

    private func drainForever() async throws {
        var claimed = Set<Int64>()
        /// Batch ids in the order they were read; settled strictly in that
        /// order, so events and recorded document states follow commit order.
        var readOrder: [Int] = []
        var finished: [Int: Completed] = [:]
        var nextID = 0
        var failures = 0
        var breaker = configuration.circuitBreaker
        var sizer = BatchSizer(maximum: configuration.batchSize, minimum: configuration.minimumBatchSize)
        var idle = IdleSchedule(configuration.idle)
        var generator = SystemRandomNumberGenerator()
        let clock = ContinuousClock()
        statistics.update { $0.batchLimit = sizer.limit }

        try await withThrowingTaskGroup(of: Completed.self) { group in
            while true {
                let stopping = Task.isShuttingDownGracefully || Task.isCancelled
                if stopping && readOrder.isEmpty { return }

                let admission = breaker.admit(at: clock.now)
                let depth = switch admission {
                case .flowing: configuration.pipelineDepth
                case .probe: 1
                case .wait: 0
                }
                if !stopping && readOrder.count < depth {
                    do {
                        let readStart = clock.now
                        let claimLimit = sizer.limit
                        if let batch = try await store.nextBatch(limit: claimLimit, excluding: claimed) {
                            let readTime = clock.now - readStart
                            idle.claimed()
                            let id = nextID
                            nextID += 1
                            claimed.formUnion(batch.seqs)
                            readOrder.append(id)
                            let index = self.index
                            group.addTask {
                                let writeStart = clock.now
                                let result: Result<[DocumentRef: WriteOutcome], any Error>
                                do {
                                    result = .success(try await index.write(batch.documents))
                                } catch {
                                    result = .failure(error)
                                }
                                return Completed(id: id, batch: batch, result: result, claimLimit: claimLimit,
                                                 readTime: readTime, writeTime: clock.now - writeStart)
                            }
                            continue
                        }
                    } catch {
                        failures += 1
                        SyncMetrics.error("postgres").increment()
                        recordFailure("reading changes", error)
                        if readOrder.isEmpty {
                            await backoff(failures: failures, using: &generator)
                            continue
                        }
                    }
                }

                if readOrder.isEmpty {
                    if case .wait(let until) = admission {
                        // Open breaker: a notification only re-checks it; shutdown ends the wait.
                        await wake.wait(timeout: until - clock.now)
                    } else {
                        do {
                            try await waitForWork(&idle)
                        } catch {
                            failures += 1
                            SyncMetrics.error("postgres").increment()
                            recordFailure("arming the wake-up", error)
                            await backoff(failures: failures, using: &generator)
                        }
                    }
                    continue
                }

                guard let completed = try await group.next() else { continue }
                finished[completed.id] = completed
                var failed = false
                while let head = readOrder.first, let ready = finished.removeValue(forKey: head) {
                    readOrder.removeFirst()
                    claimed.subtract(ready.batch.seqs)
                    switch await settle(ready) {
                    case .settled:
                        failures = 0
                        // A batch with no documents never reached the index: it proves nothing.
                        if !ready.batch.documents.documents.isEmpty { breaker.recordSuccess() }
                        sizer.written(changes: ready.batch.seqs.count, claimedWith: ready.claimLimit)
                    case .indexFailed(let overloaded):
                        failed = true
                        SyncMetrics.error(overloaded ? "overloaded" : "index").increment()
                        if overloaded { sizer.overloaded(claimedWith: ready.claimLimit) }
                        if breaker.recordFailure(at: clock.now), case .open(let until) = breaker.state {
                            logger.error("the index keeps failing; circuit breaker open", metadata: [
                                "consecutive_failures": "\(breaker.consecutiveFailures)",
                                "probe_in_ms": "\(Int((until - clock.now) / .milliseconds(1)))",
                            ])
                        }
                    case .storeFailed:
                        failed = true
                        SyncMetrics.error("postgres").increment()
                    }
                }
                statistics.update { s in
                    s.circuit = breaker.stateName
                    s.batchLimit = sizer.limit
                }
                if failed {
                    failures += 1
                    // An open breaker waits by itself; otherwise (closed, or a half-open probe whose
                    // settle failed in Postgres) back off before the next attempt.
                    if case .open = breaker.state {} else { await backoff(failures: failures, using: &generator) }
                }
            }
        }
    }

    /// Nothing is pending and nothing in flight: lingers, arms the wake-up
    /// or sleeps, as `IdleSchedule` decides, until it is time to claim again.
    private func waitForWork(_ idle: inout IdleSchedule) async throws {
        var action = idle.foundNothing(listening: wake.isListening)
        while true {
            switch action {
            case .claim:
                return
            case .poll(let delay):
                await wake.wait(timeout: delay)
                return
            case .sleep:
                await wake.wait(timeout: configuration.catchUpInterval)
                return
            case .arm:
                action = idle.arming(try await store.armWakeUp())
            }
        }
    }

    private enum SettleResult {
        case settled
        /// The index failed the write or some of its documents: retried.
        case indexFailed(overloaded: Bool)
        /// Postgres failed to record the settlement: retried.
        case storeFailed
    }

    /// Settles a written batch. Unless settled, its changes stay pending and
    /// are read again, with fresh state.
    private func settle(_ completed: Completed) async -> SettleResult {
        let batch = completed.batch
        if !batch.documents.documents.isEmpty { SyncMetrics.bulk.recordNanoseconds(completed.writeTime.nanoseconds) }
        switch completed.result {
        case .failure(let error):
            recordFailure("writing \(batch.documents.documents.count) documents", error)
            return .indexFailed(overloaded: (error as? IndexWriteError)?.overloaded ?? false)
        case .success(let outcomes):
            let settlement = Settlement(batch: batch.documents, outcomes: outcomes)
            if settlement.needsRetry {
                recordFailure("index refused some documents", SyncFailure(reasons: settlement.retryReasons))
                return .indexFailed(overloaded: settlement.overloaded)
            }
            let clock = ContinuousClock()
            let settleStart = clock.now
            let events: [DocumentEvent]
            do {
                events = try await store.settle(batch, applied: settlement.applied, rejected: settlement.rejected)
            } catch {
                recordFailure("settling changes", error)
                return .storeFailed
            }
            let settleTime = clock.now - settleStart
            if !events.isEmpty { eventSink?.publish(events) }
            for rejected in settlement.rejected {
                logger.warning("document rejected by the index, parked in the dead-letter table", metadata: [
                    "index": "\(rejected.ref.entity)", "doc": "\(rejected.ref)", "seq": "\(Self.seqRange(batch.seqs))", "error.type": "\(rejected.errorType)", "error.reason": "\(rejected.reason)",
                ])
            }
            recordSuccess(batch, settlement, events: events.count, timings: [
                "read_ms": completed.readTime, "write_ms": completed.writeTime, "settle_ms": settleTime,
            ])
            return .settled
        }
    }

    private func recordSuccess(_ batch: ChangeBatch, _ settlement: Settlement, events: Int, timings: [String: Duration]) {
        let now = Date()
        let deleted = batch.documents.documents.filter { $0.json == nil }.count
        statistics.update { s in
            s.batches += 1
            s.changesSynced += batch.seqs.count
            s.documentsWritten += batch.documents.documents.count - deleted - settlement.rejected.count
            s.documentsDeleted += deleted
            s.documentsRejected += settlement.rejected.count
            s.eventsPublished += events
            s.consecutiveFailures = 0
            s.lastSyncAt = now
            s.lastLagSeconds = batch.oldestCapturedAt.map { now.timeIntervalSince($0) }
        }
        if let captured = batch.oldestCapturedAt {
            let lag = now.timeIntervalSince(captured)
            statistics.recordLag(lag)
            SyncMetrics.lag.recordNanoseconds(Int64(max(0, lag) * 1e9))
        }
        let rejected = Set(settlement.rejected.map(\.ref))
        var written: [String: (Entity, String, Int)] = [:]
        for document in batch.documents.documents where !rejected.contains(document.ref) {
            let operation = document.json == nil ? "delete" : "index"
            written["\(document.ref.entity)/\(operation)", default: (document.ref.entity, operation, 0)].2 += 1
        }
        for (entity, operation, count) in written.values { SyncMetrics.documents(entity, operation).increment(by: count) }
        if !settlement.rejected.isEmpty { SyncMetrics.error("rejected").increment(by: settlement.rejected.count) }
        var metadata: Logger.Metadata = [
            "seq": "\(Self.seqRange(batch.seqs))", "changes": "\(batch.seqs.count)", "documents": "\(batch.documents.documents.count)",
            "version": "\(batch.documents.version)",
            "lag_ms": "\(Int((statistics.snapshot.lastLagSeconds ?? 0) * 1000))",
        ]
        for (key, value) in timings { metadata[key] = "\(String(format: "%.2f", value / .milliseconds(1)))" }
        logger.debug("batch synced", metadata: metadata)
    }

    /// `17` or `17-42`: the change-log rows a log line is about.
    static func seqRange(_ seqs: [Int64]) -> String {
        guard let low = seqs.min(), let high = seqs.max() else { return "" }
        return low == high ? "\(low)" : "\(low)-\(high)"
    }

    private func recordFailure(_ what: String, _ error: any Error) {
        let now = Date()
        statistics.update { s in
            s.failures += 1
            s.consecutiveFailures += 1
            s.lastError = "\(what): \(error)"
            s.lastErrorAt = now
        }
        logger.warning("sync failed, changes stay pending and will be retried", metadata: [
            "step": "\(what)", "error": "\(error)",
        ])
    }

    private func backoff(failures: Int, using generator: inout SystemRandomNumberGenerator) async {
        let delay = configuration.retry.delay(afterFailures: failures, using: &generator)
        try? await cancelWhenGracefulShutdown {
            try await Task.sleep(for: delay)
        }
    }
}

/// Items the index asked to retry.
public struct SyncFailure: Error, CustomStringConvertible {
    public var reasons: [String]
    public var description: String {
        reasons.prefix(3).joined(separator: "; ") + (reasons.count > 3 ? " (+\(reasons.count - 3) more)" : "")
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
