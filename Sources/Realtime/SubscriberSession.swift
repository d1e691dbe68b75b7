import Logging
import Model
import NIOCore
import Synchronization
import Sync

/// One WebSocket subscriber: its subscriptions, where its frames go, and the
/// hand-off from replaying the log to live events without gap or duplicate.
public final class SubscriberSession: Sendable {
    public let id: UInt64
    /// Whether the subscriber presented the token that unlocks private fields.
    public let authorized: Bool
    /// The compression window for events, when permessage-deflate is on.
    let windowBits: Int?
    let outlet: any FrameOutlet
    /// Called once when the outlet refuses a frame (the subscriber is not reading).
    let onOverflow: @Sendable () -> Void

    /// The decisions; every delivery it decides is queued under the same
    /// lock, so frames leave in the order they were decided.
    private let state: Mutex<SubscriptionStateMachine>

    /// `publishedThrough`: the newest seq the hub published before this
    /// session was registered (read under the same lock as the registration).
    /// `bufferLimit`: live events held while a replay runs.
    public init(id: UInt64, authorized: Bool, windowBits: Int?, outlet: any FrameOutlet, bufferLimit: Int,
                publishedThrough: Int64 = 0, onOverflow: @escaping @Sendable () -> Void) {
        self.id = id
        self.authorized = authorized
        self.windowBits = windowBits
        self.outlet = outlet
        self.onOverflow = onOverflow
        self.state = Mutex(SubscriptionStateMachine(bufferLimit: bufferLimit, publishedThrough: publishedThrough))
    }

    /// A live event from the hub; true when its frame was queued for the socket.
    @discardableResult
    func offer(_ event: EncodedEvent) -> Bool {
        let (queued, overflowed) = state.withLock { machine -> (Bool, Bool) in
            switch machine.live(event) {
            case .drop, .buffered: return (false, false)
            case .deliver:
                let queued = push(event)
                return (queued, !queued)
            case .overflow: return (false, true)
            }
        }
        if overflowed { overflow() }
        return queued
    }

    /// The hub has offered every event up to `seq`: send the answers that waited for them.
    func published(through seq: Int64) {
        let overflowed = state.withLock { machine in
            machine.published(through: seq).contains { !outlet.offer(encoded($0)) }
        }
        if overflowed { overflow() }
    }

    /// Sends a control message (subscribed, error, gap) in order with events.
    func send(_ text: String) {
        enqueue(encoded(text))
    }

    /// Sends a replay's message unless a later subscription or an
    /// unsubscribe superseded the replay (requests run beside it, so its
    /// confirmation may already have been sent).
    private func send(_ text: String, ifCurrent ticket: SubscriptionStateMachine.Ticket) {
        let frame = encoded(text)
        let overflowed = state.withLock { machine in machine.isCurrent(ticket) && !outlet.offer(frame) }
        if overflowed { overflow() }
    }

    /// The connection closed: nothing more is queued, and nothing counts as an overflow.
    func disconnected() {
        state.withLock { _ = $0.close() }
    }

    private func encoded(_ text: String) -> ByteBuffer {
        EncodedEvent.encodeText(text, windowBits: windowBits)
    }

    private func enqueue(_ frame: ByteBuffer) {
        guard !outlet.offer(frame) else { return }
        overflow()
    }

    /// Offers an event's frame; false when the outlet refuses it.
    private func push(_ event: EncodedEvent) -> Bool {
        outlet.offer(event.frame(privateView: authorized, windowBits: windowBits))
    }

    /// Closes the subscriber as a slow consumer, once.
    private func overflow() {
        if state.withLock({ $0.close() }) { onOverflow() }
    }

    /// Handles one request from the subscriber, on its connection's event
    /// loop: without waiting. A replay runs in a task started by `spawn`, and
    /// `startWait` runs a wait likewise and calls `answer` with its result;
    /// the requests that follow are handled meanwhile, and the state machine
    /// keeps every channel's events and the answers in order.
    func handle(_ request: ClientRequest, log: any EventLog, latestSeq: @Sendable () -> Int64,
                spawn: (@escaping @Sendable () async -> Void) -> Void,
                startWait: (UInt64, Duration) -> Void, logger: Logger) {
        switch request {
        case .unsubscribe(let channel):
            let overflowed = state.withLock { machine in
                // The confirmation first: answers held for the channel's replay follow it.
                !outlet.offer(encoded(ServerMessage.unsubscribed(channel))) || machine.unsubscribe(channel).contains { !outlet.offer(encoded($0)) }
            }
            if overflowed { overflow() }
        case .subscribe(let subscription):
            if subscription.since != nil, !state.withLock({ $0.replayStarted() }) {
                return send(ServerMessage.error(
                    "too many replays running (\(SubscriptionStateMachine.maximumRunningReplays)); subscribe with since once their events arrived"))
            }
            guard let ticket = register(subscription, latestSeq: latestSeq), let since = subscription.since else {
                if subscription.since != nil { state.withLock { $0.replayEnded() } }
                return
            }
            spawn {
                await self.replay(subscription, ticket: ticket, since: since, log: log, logger: logger)
                self.state.withLock { $0.replayEnded() }
            }
        case .wait(let xid, let timeout):
            guard state.withLock({ $0.waitStarted() }) else {
                return send(ServerMessage.error("too many waits pending (\(SubscriptionStateMachine.maximumPendingWaits)); wait for their answers first"))
            }
            startWait(xid, timeout)
        }
    }

    /// Answers a wait: `synced` after every event up to its seq, a timeout at once.
    func answer(xid: UInt64, _ result: WriteWaitResult) {
        switch result {
        case .synced(let seq):
            let message = ServerMessage.synced(xid: xid, seq: seq)
            let (now, overflowed) = state.withLock { machine -> (Bool, Bool) in
                machine.waitEnded()
                guard machine.send(message, afterSeq: seq) else { return (false, false) }
                return (true, !outlet.offer(encoded(message)))
            }
            if now && overflowed { overflow() }
        case .timedOut(let pendingChanges):
            state.withLock { $0.waitEnded() }
            send(ServerMessage.waitTimedOut(xid: xid, pendingChanges: pendingChanges))
        case .cancelled:
            state.withLock { $0.waitEnded() }
        }
    }

    /// Registers a subscription (buffering its live events while a replay
    /// runs) and queues its confirmation; nil when the subscriber overflowed.
    private func register(_ subscription: Subscription, latestSeq: @Sendable () -> Int64) -> SubscriptionStateMachine.Ticket? {
        // Register first (buffering), then read the log: an event committed
        // after the log read started is necessarily published after this
        // registration, so it lands in the buffer; one in both is deduplicated
        // by seq. The confirmation is queued with the registration, so no
        // event of the channel can precede it.
        let confirmation = EncodedEvent.encodeText(ServerMessage.subscribed(subscription), windowBits: windowBits)
        let (ticket, queued) = state.withLock { machine in
            (machine.subscribe(subscription, latestSeq: latestSeq()), outlet.offer(confirmation))
        }
        guard queued else {
            overflow()
            return nil
        }
        return ticket
    }

    /// Sends the subscription's events after `since` from the log, then
    /// goes live with what arrived meanwhile.
    private func replay(_ subscription: Subscription, ticket: SubscriptionStateMachine.Ticket, since: Int64,
                        log: any EventLog, logger: Logger) async {
        let channel = subscription.channel
        var cursor = since
        do {
            let oldest = try await log.oldestSeq()
            let latest = try await log.latestSeq()
            if let oldest, since < oldest - 1 {
                send(ServerMessage.gap(channel: channel, requestedSince: since, oldestAvailable: oldest), ifCurrent: ticket)
            } else if oldest == nil && since < latest {
                send(ServerMessage.gap(channel: channel, requestedSince: since, oldestAvailable: nil), ifCurrent: ticket)
            }
            let pageSize = 500
            while true {
                let page = try await log.events(channel: channel, after: cursor, limit: pageSize)
                // Filter and encode outside the lock: the hub waits on it to offer live events.
                let matching = page.map { EncodedEvent($0) }.filter { event in
                    subscription.matches(event.event, document: { event.document }, changedFields: { event.changedFields })
                }
                for event in matching { _ = event.frame(privateView: authorized, windowBits: windowBits) }
                let overflowed = state.withLock { machine -> Bool? in
                    guard machine.isCurrent(ticket) else { return nil }
                    return matching.contains { machine.replayed($0, for: ticket) && !push($0) }
                }
                guard let overflowed else { return }
                if overflowed { return overflow() }
                cursor = page.last?.seq ?? cursor
                if page.count < pageSize { break }
            }
        } catch {
            logger.warning("replay failed", metadata: ["ws.session": "\(id)", "error": "\(error)"])
            send(ServerMessage.error("replay failed: the event log is unavailable; subscribe again with since=\(cursor)"), ifCurrent: ticket)
        }
        // Go live: deliver what arrived meanwhile, in order, skipping what the replay sent.
        let overflowed = state.withLock { machine -> Bool in
            let (events, messages) = machine.finishReplay(ticket)
            return events.contains { !push($0) } || messages.contains { !outlet.offer(encoded($0)) }
        }
        if overflowed { overflow() }
    }
}
