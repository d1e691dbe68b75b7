import Model
import Sync

/// The durable event log, for replays (`since`).
public protocol EventLog: Sendable {
    /// Events of `channel` with seq > `after`, oldest first, at most `limit`.
    func events(channel: Entity, after: Int64, limit: Int) async throws -> [DocumentEvent]
    /// The oldest retained seq, nil when the log is empty.
    func oldestSeq() async throws -> Int64?
    /// The newest seq ever written (0 when none).
    func latestSeq() async throws -> Int64
}
