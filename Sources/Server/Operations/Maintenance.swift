import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Synchronization

/// How long the change log and the event log keep processed rows. The
/// WebSocket resume window (`since`) is the event log's retention.
public struct RetentionPolicy: Sendable, Equatable {
    /// Processed rows older than this go.
    public var maxAge: Duration = .seconds(7 * 86400)
    /// At most this many processed rows stay (the newest), whatever their age.
    public var maxRows = 1_000_000
    /// How often pruning runs.
    public var interval: Duration = .seconds(60)
    /// Rows deleted per statement, so pruning never holds long locks.
    public var chunk = 10_000

    public init() {}
}

/// The service's recurring housekeeping: retention of the change and event
/// logs, and scheduled reconciliation.
public struct Maintenance: Service {
    let database: PostgresConnector
    let retention: RetentionPolicy
    let reconcileSchedule: Schedule?
    let reconciler: Reconciler
    public let status: Status
    let logger: Logger

    /// What the last runs did (for the admin API).
    public final class Status: Sendable {
        public struct Snapshot: Sendable {
            public var prunedChanges = 0
            public var prunedEvents = 0
            public var lastPruneAt: Date?
            public var lastReconcile: ReconcileReport?
            public var nextReconcileAt: Date?
        }
        private let state = Mutex(Snapshot())
        public init() {}
        public var snapshot: Snapshot { state.withLock { $0 } }
        func update(_ body: (inout Snapshot) -> Void) { state.withLock { body(&$0) } }
    }

    public init(database: PostgresConnector, retention: RetentionPolicy, reconcileSchedule: Schedule?, reconciler: Reconciler,
                status: Status = Status(), logger: Logger) {
        self.database = database
        self.retention = retention
        self.reconcileSchedule = reconcileSchedule
        self.reconciler = reconciler
        self.status = status
        self.logger = logger
    }

    public func run() async throws {
        var nextPrune = Date()
        var nextReconcile = reconcileSchedule?.next(after: Date())
        status.update { $0.nextReconcileAt = nextReconcile }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let now = Date()
            if now >= nextPrune {
                do {
                    try await prune()
                } catch {
                    logger.warning("pruning the change log failed; retried later", metadata: ["error": "\(error)"])
                }
                nextPrune = Date().addingTimeInterval(retention.interval / .seconds(1))
            }
            if let due = nextReconcile, now >= due, let schedule = reconcileSchedule {
                do {
                    let report = try await reconciler.run()
                    status.update { $0.lastReconcile = report }
                } catch {
                    logger.warning("scheduled reconciliation failed", metadata: ["error": "\(error)"])
                }
                nextReconcile = schedule.next(after: Date())
                status.update { $0.nextReconcileAt = nextReconcile }
            }
            let wake = [nextPrune, nextReconcile ?? .distantFuture].min()!
            let seconds = max(0.05, min(wake.timeIntervalSinceNow, 60))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(seconds * 1000))) }
        }
    }

    /// Deletes what the retention policy no longer keeps, chunk by chunk.
    public func prune() async throws {
        let ageSeconds = Int(retention.maxAge / .seconds(1))
        var changes = 0
        var events = 0
        try await database.withConnection(applicationName: "hacksync-retention", queryTimeout: PostgresConnector.maintenanceQueryTimeout) { db in
            while !Task.isCancelled {
                let row = try await db.query(
                    "SELECT changes, events FROM sync.prune(make_interval(secs => $1), $2, $3)",
                    [ageSeconds, retention.maxRows, retention.chunk]).rows.first
                let deletedChanges = row?.int(0) ?? 0
                let deletedEvents = row?.int(1) ?? 0
                changes += deletedChanges
                events += deletedEvents
                if deletedChanges < retention.chunk && deletedEvents < retention.chunk { break }
            }
        }
        status.update {
            $0.prunedChanges += changes
            $0.prunedEvents += events
            $0.lastPruneAt = Date()
        }
        if changes + events > 0 {
            logger.info("pruned processed rows", metadata: ["changes": "\(changes)", "events": "\(events)"])
        }
    }
}
