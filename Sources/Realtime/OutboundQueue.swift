import NIOCore
import Synchronization

/// A bounded queue of encoded frames for one subscriber. The hub pushes
/// without waiting; one writer task drains it into the socket. A push to a
/// full queue fails, and the subscriber is closed as a slow consumer rather
/// than losing events silently.
public final class OutboundQueue: Sendable {
    private struct State {
        var items: [ByteBuffer] = []
        var head = 0
        var bytes = 0
        var finished = false
        var waiter: CheckedContinuation<ByteBuffer?, Never>?
    }
    private let state = Mutex(State())
    public let maxMessages: Int
    public let maxBytes: Int

    public init(maxMessages: Int, maxBytes: Int) {
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
    }

    /// Queued, not yet written.
    public var count: Int { state.withLock { $0.items.count - $0.head } }

    /// Adds a frame; false when the queue is full or finished.
    @discardableResult
    public func push(_ frame: ByteBuffer) -> Bool {
        let waiter: CheckedContinuation<ByteBuffer?, Never>?
        let accepted: Bool
        (accepted, waiter) = state.withLock { s in
            guard !s.finished else { return (false, nil) }
            if let waiter = s.waiter {
                s.waiter = nil
                return (true, waiter)
            }
            guard s.items.count - s.head < maxMessages, s.bytes + frame.readableBytes <= maxBytes else { return (false, nil) }
            s.items.append(frame)
            s.bytes += frame.readableBytes
            return (true, nil)
        }
        waiter?.resume(returning: frame)
        return accepted
    }

    /// Ends the queue; the writer gets nil once it drained what is queued.
    public func finish() {
        let waiter = state.withLock { s -> CheckedContinuation<ByteBuffer?, Never>? in
            s.finished = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The next frame, waiting for one; nil when finished and drained.
    public func next() async -> ByteBuffer? {
        await withCheckedContinuation { (continuation: CheckedContinuation<ByteBuffer?, Never>) in
            let ready: ByteBuffer?? = state.withLock { s in
                if s.head < s.items.count {
                    let item = s.items[s.head]
                    s.head += 1
                    s.bytes -= item.readableBytes
                    if s.head > 64 && s.head * 2 > s.items.count {
                        s.items.removeFirst(s.head)
                        s.head = 0
                    }
                    return .some(item)
                }
                if s.finished { return .some(nil) }
                s.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
