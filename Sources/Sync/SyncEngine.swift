import Foundation
import Logging
import Model
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

    /// A batch as written (or not) by the index, waiting for its turn to settle.
    private struct Completed: Sendable {
        var id: SyncPipeline<Completed>.BatchID
        var batch: ChangeBatch
        var result: Result<[DocumentRef: WriteOutcome], any Error>
        /// Time spent claiming and reading the batch, and writing it.
        var readTime: Duration
        var writeTime: Duration
        /// When the index answered (wall clock): the batch's oldest change was indexed this long after its capture.
        var writtenAt: Date
    }

    /// What a child task of the sync loop returns.
    private enum ChildResult: Sendable {
        /// A backlog claim ran (beside the settling of earlier batches).
        case claimed(Result<ChangeBatch?, any Error>, limit: Int, readTime: Duration)
        /// A fresh claim ran (beside the backlog's claims, writes and settles).
        case claimedFresh(Result<ChangeBatch?, any Error>, readTime: Duration)
        case written(Completed)
        /// A settling round ended: each batch's outcome, in order.
        case settled([SyncPipeline<Completed>.Due], [SyncPipeline<Completed>.Outcome])
        /// A deadline passed: a fresh claim is due, or gathering is over.
        case timer
    }

    /// Carries out what `SyncPipeline` decides, one step at a time.
    private func drainForever() async throws {
        var pipeline = SyncPipeline<Completed>(
            depth: configuration.pipelineDepth, breaker: configuration.circuitBreaker,
            sizer: BatchSizer(maximum: configuration.batchSize, minimum: configuration.minimumBatchSize),
            idle: IdleSchedule(configuration.idle), fresh: configuration.freshLane,
            gather: configuration.gather, gatherBelow: configuration.gatherBelow)
        var generator = SystemRandomNumberGenerator()
        let clock = ContinuousClock()
        statistics.update { $0.batchLimit = pipeline.sizer.limit }

        // Claims, writes, settling rounds and timers run as child tasks (on
        // connections of their own), so none waits for another: this loop
        // only decides and dispatches.
        try await withThrowingTaskGroup(of: ChildResult.self) { group in
            var timerSet = false
            func write(_ batch: ChangeBatch, id: SyncPipeline<Completed>.BatchID, readTime: Duration) {
                let index = self.index
                group.addTask {
                    let writeStart = clock.now
                    let result: Result<[DocumentRef: WriteOutcome], any Error>
                    do {
                        result = .success(try await index.write(batch.documents))
                    } catch {
                        result = .failure(error)
                    }
                    return .written(Completed(id: id, batch: batch, result: result, readTime: readTime,
                                              writeTime: clock.now - writeStart, writtenAt: Date()))
                }
            }
            @Sendable func claim(limit: Int, scope: ClaimScope, excluding: Set<Int64>) async -> (Result<ChangeBatch?, any Error>, Duration) {
                let readStart = clock.now
                do {
                    let batch = try await store.nextBatch(limit: limit, excluding: excluding, scope: scope)
                    return (.success(batch), clock.now - readStart)
                } catch {
                    return (.failure(error), clock.now - readStart)
                }
            }
            while true {
                let stopping = Task.isShuttingDownGracefully || Task.isCancelled
                switch pipeline.next(at: clock.now, stopping: stopping) {
                case .finish:
                    group.cancelAll()
                    return
                case .settle(let due):
                    group.addTask {
                        var outcomes: [SyncPipeline<Completed>.Outcome] = []
                        for batch in due { outcomes.append(await self.settle(batch.payload)) }
                        return .settled(due, outcomes)
                    }
                case .claim(let limit):
                    pipeline.claimStarted(at: clock.now)
                    let excluding = pipeline.claimedSeqs
                    group.addTask {
                        let (result, readTime) = await claim(limit: limit, scope: .oldest, excluding: excluding)
                        return .claimed(result, limit: limit, readTime: readTime)
                    }
                case .claimFresh(let scope, let limit):
                    let excluding = pipeline.claimedSeqs
                    group.addTask {
                        let (result, readTime) = await claim(limit: limit, scope: scope, excluding: excluding)
                        return .claimedFresh(result, readTime: readTime)
                    }
                case .waitForBreaker(let until):
                    await wake.wait(timeout: until - clock.now)
                case .idle:
                    do {
                        try await waitForWork(&pipeline.idle)
                    } catch {
                        SyncMetrics.error("postgres").increment()
                        recordFailure("arming the wake-up", error)
                        await backoff(failures: pipeline.idleFailed(), using: &generator)
                    }
                case .awaitCompletion(let until):
                    if let until, !timerSet {
                        timerSet = true
                        group.addTask {
                            try? await Task.sleep(until: until, clock: clock)
                            return .timer
                        }
                    }
                    guard let next = try await group.next() else { continue }
                    switch next {
                    case .timer:
                        timerSet = false
                    case .claimed(.success(nil), _, _):
                        pipeline.foundNothing()
                    case .claimed(.success(let batch?), let limit, let readTime):
                        let id = pipeline.claimed(batch.seqs, limit: limit, horizon: batch.horizon)
                        write(batch, id: id, readTime: readTime)
                    case .claimed(.failure(let error), _, _):
                        SyncMetrics.error("postgres").increment()
                        recordFailure("reading changes", error)
                        if let failures = pipeline.claimFailed() { await backoff(failures: failures, using: &generator) }
                    case .claimedFresh(.success(let batch?), let readTime):
                        let id = pipeline.claimedFresh(batch.seqs, horizon: batch.horizon)
                        write(batch, id: id, readTime: readTime)
                    case .claimedFresh(.success(nil), _):
                        pipeline.freshClaimEnded()
                    case .claimedFresh(.failure(let error), _):
                        // The backlog's claims carry on; the next fresh claim is due an interval later.
                        pipeline.freshClaimEnded()
                        SyncMetrics.error("postgres").increment()
                        recordFailure("reading fresh changes", error)
                    case .written(let completed):
                        pipeline.completed(completed.id, completed)
                    case .settled(let due, let outcomes):
                        for (batch, outcome) in zip(due, outcomes) {
                            switch outcome {
                            case .settled: break
                            case .indexFailed(let overloaded): SyncMetrics.error(overloaded ? "overloaded" : "index").increment()
                            case .storeFailed: SyncMetrics.error("postgres").increment()
                            }
                            let wrote = !batch.payload.batch.documents.documents.isEmpty
                            if let until = pipeline.settled(batch, wroteDocuments: wrote, outcome, at: clock.now) {
                                logger.error("the index keeps failing; circuit breaker open", metadata: [
                                    "consecutive_failures": "\(pipeline.breaker.consecutiveFailures)",
                                    "probe_in_ms": "\(Int((until - clock.now) / .milliseconds(1)))",
                                ])
                            }
                        }
                        statistics.update { s in
                            s.circuit = pipeline.breaker.stateName
                            s.batchLimit = pipeline.sizer.limit
                        }
                        if let failures = pipeline.finishSettling() { await backoff(failures: failures, using: &generator) }
                    }
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

    /// Settles a written batch. Unless settled, its changes stay pending and
    /// are read again, with fresh state.
    private func settle(_ completed: Completed) async -> SyncPipeline<Completed>.Outcome {
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
            let indexedLag = batch.oldestCapturedAt.map { completed.writtenAt.timeIntervalSince($0) } ?? 0
            recordSuccess(batch, settlement, events: events.count, timings: [
                "indexed_lag_ms": .milliseconds(Int64(indexedLag * 1000)),
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
