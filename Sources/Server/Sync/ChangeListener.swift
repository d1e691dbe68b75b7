import AsyncWakeup
import Logging
import Postgres
import ServiceLifecycle
import Sync

/// Holds a dedicated LISTEN connection and turns every notification into a
/// wake-up: of the sync engine for new changes (`hacksync`), of the event
/// follower for new events (`hacksync_events`). Reconnects with backoff when
/// the connection drops, and wakes both after each (re)connect so that what
/// was committed while it was away is caught up at once.
public struct ChangeListener: Service {
    public static let channel = "hacksync"
    public static let eventsChannel = "hacksync_events"

    let database: PostgresConnector
    let wake: WakeSignal
    let eventsWake: Wakeup?
    let statistics: SyncStatistics
    let retry: RetryPolicy
    let logger: Logger

    public init(database: PostgresConnector, wake: WakeSignal, eventsWake: Wakeup? = nil, statistics: SyncStatistics,
                retry: RetryPolicy = .init(), logger: Logger) {
        self.database = database
        self.wake = wake
        self.eventsWake = eventsWake
        self.statistics = statistics
        self.retry = retry
        self.logger = logger
    }

    public func run() async throws {
        var failures = 0
        var generator = SystemRandomNumberGenerator()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown {
                    try await listenOnce()
                }
            } catch is CancellationError {
                break
            } catch {
                wake.isListening = false
                // A connection that was up counts as a fresh start for the backoff.
                let wasListening = statistics.snapshot.listening
                failures = wasListening ? 1 : failures + 1
                statistics.update { $0.listening = false }
                logger.warning("LISTEN connection failed; reconnecting", metadata: ["error": "\(error)", "attempt": "\(failures)"])
                let delay = retry.delay(afterFailures: failures, using: &generator)
                try? await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: delay)
                }
            }
        }
        wake.isListening = false
        statistics.update { $0.listening = false }
    }

    private func listenOnce() async throws {
        let connection = try await database.connect(applicationName: "hacksync-listen")
        defer { Task { await connection.close() } }
        let notifications = try await connection.notifications(
            channels: eventsWake == nil ? [Self.channel] : [Self.channel, Self.eventsChannel])
        statistics.update { s in
            s.listening = true
            s.listenerConnections += 1
        }
        logger.info("listening for changes", metadata: ["pg.channel": "\(Self.channel)"])
        wake.isListening = true
        // Catch up on whatever was committed before LISTEN (or notified while away).
        wake.signal()
        eventsWake?.signal()
        for try await notification in notifications {
            if notification.channel == Self.eventsChannel {
                eventsWake?.signal()
            } else {
                statistics.update { $0.notificationsReceived += 1 }
                wake.signal()
            }
        }
        // The stream also ends when this task is cancelled (shutdown).
        try Task.checkCancellation()
        throw PostgresError(.connectionLost, "notification stream ended")
    }
}
