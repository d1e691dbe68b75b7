import Model
import Sync

/// The decisions of one subscriber's channels, without sockets or a database:
/// which events to deliver, and the hand-off from replaying the event log to
/// live events with no gap and no duplicate.
///
/// A subscription with `since` registers first and buffers live events, then
/// replays the log page by page, then delivers the buffer and goes live. An
/// event committed after the replay began is published after the
/// registration, so it reaches the buffer; one seen both ways is delivered
/// once, because every channel delivers only seqs above the last it
/// delivered. Live events arrive in seq order, so delivering in the order of
/// the decisions keeps each channel in seq order.
///
/// The answer to a `wait` (`synced` with a seq) is held until the hub has
/// offered every event up to that seq and no channel is replaying, so the
/// subscriber has every matching event of its own write before the answer.
///
/// The caller performs each `.deliver` in the order the decisions were made
/// (under the same lock), and stops a replay once `isCurrent` turns false.
struct SubscriptionStateMachine {
    /// Names one (re)subscription; a later one on the same channel supersedes it.
    struct Ticket: Equatable {
        var channel: Entity
        var generation: Int
    }

    enum LiveAction: Equatable {
        /// Not for this subscriber (other channel, filtered out, already delivered, or closed).
        case drop
        case deliver
        /// Held back while the channel replays.
        case buffered
        /// The replay buffer is full: close the subscriber as a slow consumer.
        case overflow
    }

    private struct Channel {
        var subscription: Subscription
        var generation: Int
        /// While replaying, live events wait here.
        var buffered: [EncodedEvent]?
        /// The last seq delivered: later deliveries skip anything not newer.
        var lastSeq: Int64
    }

    private var channels: [Entity: Channel] = [:]
    private var generation = 0
    /// Set once the subscriber overflowed: nothing more is delivered.
    private(set) var isClosed = false
    /// Live events a replaying channel may hold back.
    let bufferLimit: Int
    /// The newest seq the hub has offered this subscriber.
    private(set) var publishedThrough: Int64
    /// Messages waiting for the events up to their seq, in the order they came.
    private var held: [(seq: Int64, message: String)] = []
    /// Waits asked for and not answered yet.
    private(set) var waitsPending = 0
    /// Waits one subscriber may have pending at once.
    static let maximumPendingWaits = 100
    /// Replays running (reading the log), superseded ones included until they notice.
    private(set) var replaysRunning = 0
    /// Replays one subscriber may run at once: one per channel, and one
    /// superseded by a resubscription that has not stopped yet.
    static let maximumRunningReplays = 2 * Entity.allCases.count

    init(bufferLimit: Int, publishedThrough: Int64 = 0) {
        self.bufferLimit = bufferLimit
        self.publishedThrough = publishedThrough
    }

    private var isReplaying: Bool { channels.values.contains { $0.buffered != nil } }

    /// A wait request: false when the subscriber has too many pending already.
    mutating func waitStarted() -> Bool {
        guard waitsPending < Self.maximumPendingWaits else { return false }
        waitsPending += 1
        return true
    }

    /// A wait was answered (or ended without an answer).
    mutating func waitEnded() {
        waitsPending -= 1
    }

    /// A replay is about to start: false when the subscriber runs too many already.
    mutating func replayStarted() -> Bool {
        guard replaysRunning < Self.maximumRunningReplays else { return false }
        replaysRunning += 1
        return true
    }

    /// A replay's task ended (finished, superseded or failed).
    mutating func replayEnded() {
        replaysRunning -= 1
    }

    /// A message to send after every event up to `seq` (the answer to a
    /// wait): true to send it now, false when it is held (`released` hands it out later).
    mutating func send(_ message: String, afterSeq seq: Int64) -> Bool {
        guard !isClosed else { return false }
        // Without a subscription no event is owed: only the order of answers counts.
        if held.isEmpty, seq <= publishedThrough || channels.isEmpty, !isReplaying { return true }
        held.append((seq, message))
        return false
    }

    /// The hub has offered every event up to `seq`: the held messages now due, in order.
    mutating func published(through seq: Int64) -> [String] {
        publishedThrough = max(publishedThrough, seq)
        return releaseHeld()
    }

    /// Held messages whose events were all offered, in order, while no channel replays.
    private mutating func releaseHeld() -> [String] {
        guard !isClosed, !isReplaying else { return [] }
        let due = held.prefix { $0.seq <= publishedThrough }
        held.removeFirst(due.count)
        return due.map(\.message)
    }

    /// Registers a subscription, replacing any on its channel. Without
    /// `since` it is live at once and starts after `latestSeq`; with it, live
    /// events are buffered until `finishReplay`.
    mutating func subscribe(_ subscription: Subscription, latestSeq: Int64) -> Ticket {
        generation += 1
        channels[subscription.channel] = Channel(
            subscription: subscription, generation: generation,
            buffered: subscription.since == nil ? nil : [],
            lastSeq: subscription.since ?? latestSeq)
        return Ticket(channel: subscription.channel, generation: generation)
    }

    /// Drops the channel (a replay in progress stops); returns the held messages now due.
    @discardableResult
    mutating func unsubscribe(_ channel: Entity) -> [String] {
        channels.removeValue(forKey: channel)
        return releaseHeld()
    }

    /// A live event from the hub.
    mutating func live(_ event: EncodedEvent) -> LiveAction {
        let entity = event.event.ref.entity
        guard !isClosed, var channel = channels[entity], event.event.seq > channel.lastSeq,
              channel.subscription.matches(event.event, document: { event.document }, changedFields: { event.changedFields })
        else { return .drop }
        if channel.buffered != nil {
            guard channel.buffered!.count < bufferLimit else { return .overflow }
            channel.buffered!.append(event)
            channels[entity] = channel
            return .buffered
        }
        channel.lastSeq = event.event.seq
        channels[entity] = channel
        return .deliver
    }

    /// Whether the replay of `ticket` should go on (not superseded, not unsubscribed, not closed).
    func isCurrent(_ ticket: Ticket) -> Bool {
        !isClosed && channels[ticket.channel]?.generation == ticket.generation
    }

    /// An event read from the log by the replay of `ticket`: true to deliver it.
    mutating func replayed(_ event: EncodedEvent, for ticket: Ticket) -> Bool {
        guard isCurrent(ticket), ticket.channel == event.event.ref.entity,
              var channel = channels[ticket.channel], event.event.seq > channel.lastSeq,
              channel.subscription.matches(event.event, document: { event.document }, changedFields: { event.changedFields })
        else { return false }
        channel.lastSeq = event.event.seq
        channels[ticket.channel] = channel
        return true
    }

    /// Ends the replay of `ticket`: the buffered events still to deliver, in
    /// order, then the held messages now due. The channel is live afterwards.
    mutating func finishReplay(_ ticket: Ticket) -> (events: [EncodedEvent], messages: [String]) {
        guard isCurrent(ticket), var channel = channels[ticket.channel] else { return ([], []) }
        var out: [EncodedEvent] = []
        for event in channel.buffered ?? [] where event.event.seq > channel.lastSeq {
            channel.lastSeq = event.event.seq
            out.append(event)
        }
        channel.buffered = nil
        channels[ticket.channel] = channel
        return (out, releaseHeld())
    }

    /// Closes the subscriber; true the first time (report the overflow once).
    mutating func close() -> Bool {
        defer { isClosed = true }
        return !isClosed
    }
}
