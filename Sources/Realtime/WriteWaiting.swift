import Model

/// Read-your-writes for `{"type":"wait","xid":N}` on `/ws` (the service's
/// `WriteWaits`, which also answers `GET /api/wait`). A cancelled caller
/// is answered `.cancelled` at once.
public protocol WriteWaiting: Sendable {
    func wait(xid: UInt64, timeout: Duration) async -> WriteWaitResult
}
