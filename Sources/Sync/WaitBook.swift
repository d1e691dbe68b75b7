/// Read-your-writes, without Postgres, an index or a clock: who waits for
/// which transaction, when its changes are all settled, when the indexes
/// must be refreshed so that they are searchable, and when a waiter gives up.
///
/// A waiter names a transaction (`xid`, from `pg_current_xact_id()`). The
/// service checks the xids still waited for against the change log in one
/// query for all of them, whenever a batch settles (and now and then on a
/// standby, which does not see the leader's settles), and reports which are
/// still pending (`observed`). A transaction with nothing pending is synced
/// (or captured nothing); it is searchable once a refresh that started after
/// that observation has finished. Refreshes are shared: one at a time, at
/// most one per `refreshInterval`, each releasing every waiter it covers.
public struct WaitBook: Sendable {
    public typealias Instant = ContinuousClock.Instant
    public typealias WaiterID = Int

    /// How a waiter ended.
    public enum Outcome: Equatable, Sendable {
        /// Every change settled and a refresh since: searchable.
        case synced
        /// The deadline passed: `pendingChanges` is nil when the changes were
        /// all settled and only the refresh was outstanding.
        case timedOut(pendingChanges: Bool)
    }

    private struct Waiter {
        var xid: UInt64
        var deadline: Instant
        /// Observed with nothing pending at this time: needs a refresh started at or after it.
        var settledAt: Instant?
    }

    public let refreshInterval: Duration
    private var waiters: [WaiterID: Waiter] = [:]
    private var nextID = 0
    /// The refresh in flight, by its start time.
    public private(set) var refreshing: Instant?
    private var lastRefreshStart: Instant?

    public init(refreshInterval: Duration = .milliseconds(200)) {
        self.refreshInterval = refreshInterval
    }

    public var isEmpty: Bool { waiters.isEmpty }

    /// A waiter for `xid` until `deadline`.
    public mutating func register(xid: UInt64, deadline: Instant) -> WaiterID {
        defer { nextID += 1 }
        waiters[nextID] = Waiter(xid: xid, deadline: deadline)
        return nextID
    }

    /// The transactions to check against the change log: those of waiters
    /// whose changes were still pending when last looked.
    public var pendingXids: Set<UInt64> {
        Set(waiters.values.filter { $0.settledAt == nil }.map(\.xid))
    }

    /// The change log was read for the xids `asked` (the answer came at
    /// `at`, after the read's snapshot: a settle it saw committed before
    /// then): `pending` still have unsettled changes. Waiters registered
    /// while it read were not asked about and stay as they are.
    public mutating func observed(asked: Set<UInt64>, pending: Set<UInt64>, at: Instant) {
        for (id, waiter) in waiters where waiter.settledAt == nil && asked.contains(waiter.xid) && !pending.contains(waiter.xid) {
            waiters[id]?.settledAt = at
        }
    }

    /// When the next refresh should start: now (or earlier) to start one,
    /// nil when none is needed or one runs.
    public func refreshDue() -> Instant? {
        guard refreshing == nil, let oldest = waiters.values.compactMap(\.settledAt).min() else { return nil }
        let earliest = lastRefreshStart.map { $0 + refreshInterval } ?? oldest
        return max(earliest, oldest)
    }

    public mutating func refreshStarted(at now: Instant) {
        refreshing = now
        lastRefreshStart = now
    }

    /// The refresh that started at `refreshing` finished (or failed: then
    /// nobody is released and the next one is due an interval later).
    /// Returns the waiters it made synced.
    public mutating func refreshFinished(succeeded: Bool) -> [WaiterID] {
        guard let started = refreshing else { return [] }
        refreshing = nil
        guard succeeded else { return [] }
        let released = waiters.filter { $0.value.settledAt.map { $0 <= started } ?? false }.map(\.key)
        for id in released { waiters[id] = nil }
        return released.sorted()
    }

    /// Waiters whose deadline has passed, and how far each got.
    public mutating func expire(at now: Instant) -> [(WaiterID, Outcome)] {
        let expired = waiters.filter { $0.value.deadline <= now }
        for id in expired.keys { waiters[id] = nil }
        return expired.map { ($0.key, .timedOut(pendingChanges: $0.value.settledAt == nil)) }.sorted { $0.0 < $1.0 }
    }

    /// The earliest deadline of a waiter: when to expire next.
    public var nextDeadline: Instant? { waiters.values.map(\.deadline).min() }

    /// A waiter the client gave up on (its connection closed).
    public mutating func cancel(_ id: WaiterID) {
        waiters[id] = nil
    }
}
