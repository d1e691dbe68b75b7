import AsyncWakeup
import Logging
import Model
import Realtime
import ServiceLifecycle
import Sync

/// Feeds this instance's hub from the durable event log, so that every
/// instance, the leader and each standby, serves the complete live stream:
/// the same events with the same seqs in the same order, wherever a
/// subscriber lands. Wakes when `sync.settle` announces new events
/// (`hacksync_events`, through the listener) and every `pollEvery` in case a
/// notification was missed; reads everything after the hub's newest seq.
///
/// It is the hub's only publisher, on the leader too: the engine's settled
/// batches only wake it (`EventSink`). Publishing them directly would move
/// the hub past events the engine never saw, and lose them: a settle whose
/// reply was lost, the previous leader's last batch. Events are committed
/// in seq order (one leader settles, one batch at a time, R__80_settle.sql),
/// so reading `seq > newest` never skips one that commits later.
///
/// Before its first read it learns the newest seq from the log, retrying
/// until Postgres answers: an instance that started while Postgres was down
/// must not replay the whole log to live subscribers.
public struct EventFollower: Service, EventSink {
    let log: PostgresEventLog
    let hub: RealtimeHub
    let wake: Wakeup
    let logger: Logger
    public var pollEvery: Duration = .seconds(1)
    public var pageSize = 1000
    /// Called after each read of the log (a settle was announced, or the
    /// poll interval passed): read-your-writes looks again (`WriteWaits`).
    public var afterCatchUp: @Sendable () -> Void = {}
    public var retry = RetryPolicy()

    public init(log: PostgresEventLog, hub: RealtimeHub, wake: Wakeup, logger: Logger) {
        self.log = log
        self.hub = hub
        self.wake = wake
        self.logger = logger
    }

    /// The engine settled a batch: read it from the log now.
    public func publish(_ events: [DocumentEvent]) {
        wake.signal()
    }

    public func run() async throws {
        var failures = 0
        var generator = SystemRandomNumberGenerator()
        var primed = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var pause = pollEvery
            do {
                if !primed {
                    try await hub.primeLatestSeq()
                    primed = true
                }
                try await catchUp()
                afterCatchUp()
                failures = 0
            } catch {
                failures += 1
                pause = retry.delay(afterFailures: failures, using: &generator)
                logger.warning("reading the event log failed", metadata: ["error": "\(error)", "attempt": "\(failures)"])
            }
            let delay = pause
            await cancelWhenGracefulShutdown { await wake.wait(timeout: delay) }
        }
    }

    /// Publishes every event after the hub's newest, page by page.
    func catchUp() async throws {
        while true {
            let events = try await log.events(after: hub.latestSeq, limit: pageSize)
            hub.publish(events)
            if events.count < pageSize { return }
        }
    }
}
