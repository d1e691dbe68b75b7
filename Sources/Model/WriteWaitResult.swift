/// How a read-your-writes wait for one transaction ended (`GET /api/wait`,
/// `{"type":"wait"}` on `/ws`).
public enum WriteWaitResult: Equatable, Sendable {
    /// Synced and searchable; `seq`: the newest event then (every event the
    /// transaction caused has a seq at or below it).
    case synced(seq: Int64)
    /// The timeout passed; `pendingChanges`: some of the transaction's
    /// changes were not settled yet (otherwise only the refresh was outstanding).
    case timedOut(pendingChanges: Bool)
    /// The waiter went away first (its connection closed, or the service stops).
    case cancelled
}

extension WriteWaitResult {
    /// How long a wait lasts when the caller names no timeout, and at most.
    public static let defaultTimeout: Duration = .seconds(2)
    public static let maximumTimeout: Duration = .seconds(30)
}
