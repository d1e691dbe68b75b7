import Logging
import NIOCore
import Synchronization
import Sync

/// One WebSocket subscriber: its subscriptions, its queue, and the hand-off
/// from replaying the log to live events without gap or duplicate.
public final class SubscriberSession: Sendable {
    public let id: UInt64
    /// Whether the subscriber presented the token that unlocks private fields.
    public let authorized: Bool
    /// The compression window for events, when permessage-deflate is on.
    let windowBits: Int?
    let queue: OutboundQueue
    /// Called once when the queue overflows.
    let onOverflow: @Sendable () -> Void

    private struct Channel {
        var subscription: Subscription
        /// Bumped on every (re)subscribe, so a stale replay stops.
        var generation: Int
        /// While replaying, live events wait here.
        var buffered: [EncodedEvent]?
        /// The last seq delivered on this channel: later deliveries skip anything not newer.
        var lastSeq: Int64
    }
    private struct State {
        var channels: [Entity: Channel] = [:]
        var generation = 0
        var overflowed = false
    }
    private let state = Mutex(State())

    public init(id: UInt64, authorized: Bool, windowBits: Int?, queue: OutboundQueue, onOverflow: @escaping @Sendable () -> Void) {
        self.id = id
        self.authorized = authorized
        self.windowBits = windowBits
        self.queue = queue
        self.onOverflow = onOverflow
    }

    /// A live event from the hub.
    func offer(_ event: EncodedEvent) {
        enum Outcome { case none, send(ByteBuffer), overflow }
        let outcome: Outcome = state.withLock { s in
            guard !s.overflowed, var channel = s.channels[event.event.ref.entity] else { return .none }
            guard event.event.seq > channel.lastSeq,
                  channel.subscription.matches(event.event, document: { event.document })
            else { return .none }
            if channel.buffered != nil {
                // Live events wait while the log replays; the same bound as the queue applies.
                guard channel.buffered!.count < queue.maxMessages else { return .overflow }
                channel.buffered!.append(event)
                s.channels[event.event.ref.entity] = channel
                return .none
            }
            channel.lastSeq = event.event.seq
            s.channels[event.event.ref.entity] = channel
            return .send(event.frame(privateView: authorized, windowBits: windowBits))
        }
        switch outcome {
        case .none: break
        case .send(let frame): enqueue(frame)
        case .overflow: overflow()
        }
    }

    /// Sends a control message (subscribed, error, gap) in order with events.
    func send(_ text: String) {
        enqueue(EncodedEvent.encodeText(text, windowBits: windowBits))
    }

    private func enqueue(_ frame: ByteBuffer) {
        guard !queue.push(frame) else { return }
        overflow()
    }

    /// Closes the subscriber as a slow consumer, once.
    private func overflow() {
        let first = state.withLock { s -> Bool in
            defer { s.overflowed = true }
            return !s.overflowed
        }
        if first { onOverflow() }
    }

    /// Handles one request from the subscriber.
    func handle(_ request: ClientRequest, log: any EventLog, latestSeq: @Sendable () -> Int64, logger: Logger) async {
        switch request {
        case .unsubscribe(let channel):
            state.withLock { _ = $0.channels.removeValue(forKey: channel) }
            send(ServerMessage.unsubscribed(channel))
        case .subscribe(let subscription):
            await subscribe(subscription, log: log, latestSeq: latestSeq, logger: logger)
        }
    }

    private func subscribe(_ subscription: Subscription, log: any EventLog, latestSeq: @Sendable () -> Int64, logger: Logger) async {
        let channel = subscription.channel
        // Register first (buffering), then read the log: an event committed
        // after the log read started is necessarily published after this
        // registration, so it lands in the buffer; one in both is deduplicated by seq.
        let generation = state.withLock { s -> Int in
            s.generation += 1
            s.channels[channel] = Channel(
                subscription: subscription, generation: s.generation,
                buffered: subscription.since == nil ? nil : [],
                lastSeq: subscription.since ?? latestSeq())
            return s.generation
        }
        send(ServerMessage.subscribed(subscription))
        guard let since = subscription.since else { return }

        var cursor = since
        do {
            let oldest = try await log.oldestSeq()
            let latest = try await log.latestSeq()
            if let oldest, since < oldest - 1 {
                send(ServerMessage.gap(channel: channel, requestedSince: since, oldestAvailable: oldest))
            } else if oldest == nil && since < latest {
                send(ServerMessage.gap(channel: channel, requestedSince: since, oldestAvailable: nil))
            }
            let pageSize = 500
            while true {
                let page = try await log.events(channel: channel, after: cursor, limit: pageSize)
                let current = state.withLock { $0.channels[channel]?.generation == generation && !$0.overflowed }
                guard current else { return }
                for event in page where subscription.matches(event, document: { try? JSONValue.parse(event.data) }) {
                    offerReplayed(EncodedEvent(event), generation: generation)
                }
                cursor = page.last?.seq ?? cursor
                if page.count < pageSize { break }
            }
        } catch {
            logger.warning("replay failed", metadata: ["ws.session": "\(id)", "error": "\(error)"])
            send(ServerMessage.error("replay failed: the event log is unavailable; subscribe again with since=\(cursor)"))
        }
        // Go live: deliver what arrived meanwhile, in order, skipping what the replay sent.
        let frames: [ByteBuffer] = state.withLock { s in
            guard var channelState = s.channels[channel], channelState.generation == generation else { return [] }
            var out: [ByteBuffer] = []
            for event in channelState.buffered ?? [] where event.event.seq > channelState.lastSeq {
                channelState.lastSeq = event.event.seq
                out.append(event.frame(privateView: authorized, windowBits: windowBits))
            }
            channelState.buffered = nil
            s.channels[channel] = channelState
            return out
        }
        for frame in frames { enqueue(frame) }
    }

    private func offerReplayed(_ event: EncodedEvent, generation: Int) {
        let frame: ByteBuffer? = state.withLock { s in
            guard var channel = s.channels[event.event.ref.entity], channel.generation == generation,
                  event.event.seq > channel.lastSeq else { return nil }
            channel.lastSeq = event.event.seq
            s.channels[event.event.ref.entity] = channel
            return event.frame(privateView: authorized, windowBits: windowBits)
        }
        if let frame { enqueue(frame) }
    }
}
