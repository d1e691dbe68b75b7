import Foundation
import Synchronization

/// Counters and recent state of the sync pipeline, shared with health checks,
/// the admin API and metrics. Updated once per batch, not per document.
public final class SyncStatistics: Sendable {
    public struct Snapshot: Sendable {
        public var changesSynced = 0
        public var documentsWritten = 0
        public var documentsDeleted = 0
        public var documentsRejected = 0
        public var eventsPublished = 0
        public var batches = 0
        public var failures = 0
        public var consecutiveFailures = 0
        public var lastError: String?
        public var lastErrorAt: Date?
        public var lastSyncAt: Date?
        /// Capture → acknowledgement of the oldest change in the last batch.
        public var lastLagSeconds: Double?
        public var notificationsReceived = 0
        public var listening = false
        /// LISTEN connections made (more than one: the listener reconnected).
        public var listenerConnections = 0
        /// The circuit breaker in front of the index: closed, open, half-open.
        public var circuit = "closed"
        /// Changes the next batch may claim (shrinks when the index is overloaded).
        public var batchLimit = 0
    }

    private let state = Mutex(Snapshot())
    /// Capture → acknowledgement of the last `lagWindow` batches, for percentiles.
    private let lags = Mutex(LagWindow())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    public func recordLag(_ seconds: Double) {
        lags.withLock { $0.add(seconds) }
    }

    /// Lag percentiles (p in 0...100) over the recent batches; nil before the first.
    public func lagPercentiles(_ percentiles: [Double]) -> [Double]? {
        let sorted = lags.withLock { $0.samples }.sorted()
        guard !sorted.isEmpty else { return nil }
        return percentiles.map { p in
            // Nearest rank: the smallest sample with at least p% of samples at or below it.
            let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
            return sorted[min(sorted.count - 1, max(0, rank - 1))]
        }
    }

    public func update(_ body: (inout Snapshot) -> Void) {
        state.withLock { body(&$0) }
    }
}

/// The last 1,024 lag samples (a ring).
struct LagWindow {
    static let capacity = 1024
    private(set) var samples: [Double] = []
    private var next = 0

    mutating func add(_ value: Double) {
        if samples.count < Self.capacity {
            samples.append(value)
        } else {
            samples[next] = value
        }
        next = (next + 1) % Self.capacity
    }
}
