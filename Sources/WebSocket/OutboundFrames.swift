import NIOCore
import Synchronization

/// The frames on their way to one socket. Any thread queues them, in the
/// order it decided them, under one lock; the channel's event loop writes
/// whatever is queued in one pass with one flush. Nothing waits in a task:
/// an idle connection holds an empty array and a few counters.
///
/// Every frame counts against the budget from the moment it is queued
/// until the socket has taken it, so a subscriber that does not read is
/// found whichever side of the event loop its frames sit on.
struct OutboundLedger: Sendable {
    /// Past either limit an offer is refused (the hub closes the subscriber as slow).
    var maxMessages: Int
    var maxBytes: Int

    private(set) var queued: [ByteBuffer] = []
    private(set) var queuedBytes = 0
    /// Frames handed to the channel whose write has not completed.
    private(set) var writingMessages = 0
    private(set) var writingBytes = 0
    /// A pass is scheduled on the event loop and will take what is queued.
    private(set) var passScheduled = false
    /// After the close frame nothing more is written.
    private(set) var closed = false

    init(maxMessages: Int, maxBytes: Int) {
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
    }

    enum Offer: Equatable {
        /// Queued; `schedulePass` when the caller must schedule the pass that writes it.
        case queued(schedulePass: Bool)
        /// Over the budget: not queued.
        case overBudget
        /// The close frame went before: not queued.
        case closed
    }

    var pendingMessages: Int { queued.count + writingMessages }
    var pendingBytes: Int { queuedBytes + writingBytes }

    /// Queues `frame` if it fits the budget (`bounded`) or whatever the
    /// budget (writers that wait for their writes instead). A close frame
    /// (`closes`) is the last one queued.
    mutating func offer(_ frame: ByteBuffer, bounded: Bool, closes: Bool = false) -> Offer {
        guard !closed else { return .closed }
        if bounded && (pendingMessages + 1 > maxMessages || pendingBytes + frame.readableBytes > maxBytes) {
            return .overBudget
        }
        queued.append(frame)
        queuedBytes += frame.readableBytes
        if closes { closed = true }
        let schedulePass = !passScheduled
        passScheduled = true
        return .queued(schedulePass: schedulePass)
    }

    /// The event loop's pass takes everything queued; it is being written.
    mutating func takeForPass() -> (frames: [ByteBuffer], bytes: Int) {
        let taken = (queued, queuedBytes)
        writingMessages += queued.count
        writingBytes += queuedBytes
        queued = []
        queuedBytes = 0
        passScheduled = false
        return taken
    }

    /// A pass's writes completed (or failed: the channel is gone).
    mutating func written(messages: Int, bytes: Int) {
        writingMessages -= messages
        writingBytes -= bytes
    }
}

/// Carries out the ledger's decisions on one channel.
final class OutboundFrames: Sendable {
    private struct State {
        var ledger: OutboundLedger
        /// Completed when the scheduled pass's writes are: what a writer over `highWater` waits on.
        var pass: EventLoopPromise<Void>?
        var lastPass: EventLoopFuture<Void>?
    }
    private let state: Mutex<State>
    let channel: any Channel
    /// A writer that waits for its writes (`write`) waits once this much is pending.
    let highWater: Int

    init(channel: any Channel, maxMessages: Int, maxBytes: Int, highWater: Int) {
        self.channel = channel
        self.highWater = highWater
        state = Mutex(State(ledger: OutboundLedger(maxMessages: maxMessages, maxBytes: maxBytes)))
    }

    /// Queues a frame if it fits the budget. Never waits.
    func offer(_ frame: ByteBuffer) -> OutboundLedger.Offer {
        enqueue(frame, bounded: true, closes: false).offer
    }

    /// Queues a frame whatever the budget, without waiting (control frames
    /// from the timers); false after the close frame.
    func post(_ frame: ByteBuffer, closes: Bool = false) -> Bool {
        enqueue(frame, bounded: false, closes: closes).offer != .closed
    }

    /// Queues a frame whatever the budget, and waits for the socket to
    /// take it while more than `highWater` bytes are pending. Throws
    /// when the close frame went before it or the channel is gone.
    func write(_ frame: ByteBuffer, closes: Bool = false) async throws {
        let (offer, backlog) = enqueue(frame, bounded: false, closes: closes)
        guard offer != .closed else { throw ChannelError.ioOnClosedChannel }
        if let backlog { try await backlog.get() }
    }

    /// Bytes queued or in the socket's write.
    var pendingBytes: Int { state.withLock { $0.ledger.pendingBytes } }

    /// Completes when everything queued so far has been written (or
    /// failed); nil when nothing is pending.
    var drained: EventLoopFuture<Void>? { state.withLock { $0.lastPass } }

    /// What became of the frame, and the pass to wait for when an
    /// unbounded writer finds more than `highWater` pending.
    private func enqueue(_ frame: ByteBuffer, bounded: Bool, closes: Bool) -> (offer: OutboundLedger.Offer, backlog: EventLoopFuture<Void>?) {
        let (offer, pass) = state.withLock { s -> (OutboundLedger.Offer, EventLoopFuture<Void>?) in
            let offer = s.ledger.offer(frame, bounded: bounded, closes: closes)
            if case .queued(schedulePass: true) = offer {
                let promise = channel.eventLoop.makePromise(of: Void.self)
                s.pass = promise
                s.lastPass = promise.futureResult
            }
            let wait = !bounded && s.ledger.pendingBytes > highWater
            return (offer, wait ? s.pass?.futureResult : nil)
        }
        if case .queued(schedulePass: true) = offer {
            channel.eventLoop.execute { self.writePass() }
        }
        return (offer, pass)
    }

    /// On the event loop: writes what is queued, flushes once.
    private func writePass() {
        let (frames, bytes, promise) = state.withLock { s in
            let taken = s.ledger.takeForPass()
            defer { s.pass = nil }
            return (taken.frames, taken.bytes, s.pass)
        }
        guard let promise else { return }
        guard let last = frames.last else { return promise.succeed() }
        let count = frames.count
        let future = promise.futureResult
        // The ledger is settled before the pass's promise completes, so
        // whoever waited on it finds the budget freed.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { result in
            self.state.withLock { s in
                s.ledger.written(messages: count, bytes: bytes)
                if s.lastPass === future { s.lastPass = nil }
            }
            promise.completeWith(result)
        }
        for frame in frames.dropLast() { channel.write(frame, promise: nil) }
        channel.writeAndFlush(last, promise: written)
    }
}
