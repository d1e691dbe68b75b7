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

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    public func update(_ body: (inout Snapshot) -> Void) {
        state.withLock { body(&$0) }
    }
}
