import Synchronization

/// A level-triggered wake-up for one waiting task: `signal()` wakes the
/// waiter, or the next `wait` if nobody waits now. Many signals before a
/// wait collapse into one. The sync engine sleeps on one between scans (a
/// notification signals it); a WebSocket connection's timer task sleeps on
/// one until its next deadline (a close moves the deadline and signals it).
public final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns when signalled (now, if a signal is pending), at `deadline`
    /// (never, if nil), or when the task is cancelled.
    public func wait(until deadline: ContinuousClock.Instant?) async {
        guard let deadline else { return await waitForSignal() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal() }
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            await group.next()
            group.cancelAll()
        }
    }

    public func wait(timeout: Duration) async {
        await wait(until: .now + timeout)
    }

    private func waitForSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    // A signal taken here, even by a wait that lost to its deadline, is
                    // seen: `wait` returns only after this child ended, and the caller
                    // then looks at whatever was signalled.
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
