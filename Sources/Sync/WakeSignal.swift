import AsyncWakeup
import Synchronization

/// The sync engine's wake-up: a notification (through the listener) or a
/// new change signals it; the engine waits on it between scans. Many
/// signals while busy collapse into one wake, which is what coalescing
/// wants: the next scan reads everything pending.
public final class WakeSignal: Sendable {
    private let wakeup = Wakeup()
    private let listening = Atomic(false)

    public init() {}

    /// Whether a listener is connected that turns notifications into
    /// signals. The engine arms the wake-up only while one is: a capture's
    /// NOTIFY would otherwise reach nobody. The listener signals after every
    /// (re)connect, so nothing notified while it was away waits long.
    public var isListening: Bool {
        get { listening.load(ordering: .acquiring) }
        set { listening.store(newValue, ordering: .releasing) }
    }

    public func signal() { wakeup.signal() }

    /// Returns when signalled, when `timeout` passes, or when the task is cancelled.
    public func wait(timeout: Duration) async { await wakeup.wait(timeout: timeout) }
}
