import Metrics
import NIOCore
import Synchronization

/// The hub's share of an event's way to its subscribers: from the start of
/// a publish until every frame it queued was flushed to its channel, which
/// writes it to the socket at once unless the socket's buffer is full
/// (`hacksync_realtime_fanout_seconds`). Each event loop runs its tasks in
/// the order they were submitted, so one marker task per loop, submitted
/// after the publish queued its write passes, runs once they all ran: two
/// tasks per publish on two cores, whatever the number of subscribers.
enum FanOutTiming {
    static let timer = Metrics.Timer(label: "hacksync_realtime_fanout_seconds")

    /// The distinct loops a publish queued frames on.
    struct Loops {
        private(set) var loops: [any EventLoop] = []

        mutating func insert(_ loop: any EventLoop) {
            // A handful of loops (one per core): a scan beats hashing.
            guard !loops.contains(where: { $0 === loop }) else { return }
            loops.append(loop)
        }
    }

    /// Reports the time since `started` once every loop in `writers` ran
    /// the tasks queued on it so far (to the histogram unless told otherwise).
    static func record(since started: ContinuousClock.Instant, whenPassesRanOn writers: Loops,
                       report: @escaping @Sendable (Duration) -> Void = { timer.recordNanoseconds(nanoseconds($0)) }) {
        guard !writers.loops.isEmpty else { return }
        let remaining = Countdown(writers.loops.count)
        for loop in writers.loops {
            loop.execute {
                guard remaining.tick() else { return }
                report(ContinuousClock.now - started)
            }
        }
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    private final class Countdown: Sendable {
        private let left: Atomic<Int>
        init(_ count: Int) { left = Atomic(count) }
        /// True for the last tick.
        func tick() -> Bool { left.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 }
    }
}
