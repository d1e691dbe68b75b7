/// Decides what the sync engine does when a claim found nothing pending:
/// look again soon, arm the wake-up, or sleep until notified.
///
/// Sleeping is what costs the platform: while the engine sleeps armed, every
/// capturing transaction NOTIFYs, and Postgres commits those one at a time
/// (triggers/R__00_common.sql). So after a busy spell the engine looks again
/// a few times at short intervals first: a steady write load never lets it
/// fall asleep and sends no NOTIFY at all, while a change committed in that
/// spell waits at most one short interval. Only after a quiet spell does it
/// arm. A single write after an idle period therefore finds it armed and
/// wakes it at once.
public struct IdleSchedule: Sendable, Equatable {
    public struct Configuration: Sendable, Equatable {
        /// The looks after a busy spell before arming: 2 + 4 + 8 = 14 ms of
        /// quiet. A load of more than ~100 writes/s keeps the engine awake.
        public var lingerDelays: [Duration] = [.milliseconds(2), .milliseconds(4), .milliseconds(8)]
        /// While a capturing transaction stays open (a long import, an idle
        /// session in a transaction) the wake-up cannot be armed: the engine
        /// looks again, backing off from the first linger delay to this. It
        /// bounds how long a change committed meanwhile by someone else waits.
        public var writersPollCap: Duration = .milliseconds(50)

        public init() {}
    }

    public enum Action: Sendable, Equatable {
        /// Claim again now.
        case claim
        /// Claim again after this delay (or earlier, when signalled).
        case poll(after: Duration)
        /// Ask the store to arm the wake-up (`ChangeStore.armWakeUp`).
        case arm
        /// Wait for a signal or the catch-up interval.
        case sleep
    }

    public let configuration: Configuration
    /// Empty looks since the last claim that found work.
    private var emptyLooks = 0
    /// Arming attempts refused by open writers since the last claim that found work.
    private var writerPolls = 0

    public init(_ configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// A claim found work: the next quiet spell lingers again.
    public mutating func claimed() {
        emptyLooks = 0
        writerPolls = 0
    }

    /// A claim found nothing and nothing is in flight. `listening`: a
    /// listener is connected; without one a NOTIFY would reach nobody, so
    /// the engine neither lingers nor arms and relies on the catch-up scan.
    public mutating func foundNothing(listening: Bool) -> Action {
        guard listening else { return .sleep }
        if emptyLooks < configuration.lingerDelays.count {
            defer { emptyLooks += 1 }
            return .poll(after: configuration.lingerDelays[emptyLooks])
        }
        return .arm
    }

    /// What the store answered to arming.
    public mutating func arming(_ result: WakeUpArming) -> Action {
        switch result {
        case .armed:
            return .sleep
        case .pending:
            return .claim
        case .writersInFlight:
            let first = configuration.lingerDelays.first ?? .milliseconds(1)
            let delay = min(configuration.writersPollCap, first * (1 << min(writerPolls, 16)))
            writerPolls += 1
            return .poll(after: delay)
        }
    }
}
