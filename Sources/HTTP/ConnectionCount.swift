import Synchronization

/// The server's open connections, counted as they are accepted and closed.
final class ConnectionCount: Sendable {
    private let open = Atomic<Int>(0)

    /// Counts a new connection; true while the count stays within `limit`.
    func opened(limit: Int) -> Bool {
        open.wrappingAdd(1, ordering: .relaxed).newValue <= limit
    }

    func closed() {
        open.wrappingSubtract(1, ordering: .relaxed)
    }
}
