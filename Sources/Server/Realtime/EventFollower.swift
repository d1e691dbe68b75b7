import AsyncWakeup
import Logging
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
/// On the leader the engine also publishes each settled batch at once; the
/// hub drops what it has already published, so whichever arrives first wins
/// and nothing is delivered twice. Events are committed in seq order (one
/// leader settles, one batch at a time, R__80_settle.sql), so reading
/// `seq > newest` never skips one that commits later.
public struct EventFollower: Service {
    let log: PostgresEventLog
    let hub: RealtimeHub
    let wake: Wakeup
    let logger: Logger
    public var pollEvery: Duration = .seconds(1)
    public var pageSize = 1000
    public var retry = RetryPolicy()

    public init(log: PostgresEventLog, hub: RealtimeHub, wake: Wakeup, logger: Logger) {
        self.log = log
        self.hub = hub
        self.wake = wake
        self.logger = logger
    }

    public func run() async throws {
        var failures = 0
        var generator = SystemRandomNumberGenerator()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var pause = pollEvery
            do {
                try await catchUp()
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
