import Synchronization

/// A level-triggered wake-up: `signal()` wakes one waiter, or the next one to
/// wait if nobody waits now. Many signals while busy collapse into one wake,
/// which is what coalescing wants: the next scan reads everything pending.
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        var listening = false
    }
    private let state = Mutex(State())

    public init() {}

    /// Whether a listener is connected that turns notifications into
    /// signals. The engine arms the wake-up only while one is: a capture's
    /// NOTIFY would otherwise reach nobody. The listener signals after every
    /// (re)connect, so nothing notified while it was away waits long.
    public var isListening: Bool {
        get { state.withLock { $0.listening } }
        set { state.withLock { $0.listening = newValue } }
    }

    public func signal() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when signalled, when `timeout` passes, or when the task is cancelled.
    public func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = state.withLock { state in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    if Task.isCancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
