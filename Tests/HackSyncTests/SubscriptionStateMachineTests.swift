import Model
@testable import Realtime
import Sync
import Testing

@Suite struct SubscriptionStateMachineTests {
    typealias Machine = SubscriptionStateMachine

    static func event(_ seq: Int64, _ entity: Entity = .projects, track: String = "a") -> EncodedEvent {
        EncodedEvent(DocumentEvent(seq: seq, ref: DocumentRef(entity, seq), operation: .update,
                                   data: #"{"id":\#(seq),"track":"\#(track)"}"#, publicData: nil, at: ""))
    }

    /// The machine behind a reference, so `#expect` can call its mutating members.
    final class Box {
        var machine: Machine
        init(bufferLimit: Int, publishedThrough: Int64 = 0) { machine = Machine(bufferLimit: bufferLimit, publishedThrough: publishedThrough) }
        func subscribe(_ s: Subscription, latestSeq: Int64) -> Machine.Ticket { machine.subscribe(s, latestSeq: latestSeq) }
        @discardableResult func unsubscribe(_ channel: Entity) -> [String] { machine.unsubscribe(channel) }
        func live(_ e: EncodedEvent) -> Machine.LiveAction { machine.live(e) }
        func isCurrent(_ t: Machine.Ticket) -> Bool { machine.isCurrent(t) }
        func replayed(_ e: EncodedEvent, for t: Machine.Ticket) -> Bool { machine.replayed(e, for: t) }
        func finishReplay(_ t: Machine.Ticket) -> [EncodedEvent] { machine.finishReplay(t).events }
        func finishReplayMessages(_ t: Machine.Ticket) -> [String] { machine.finishReplay(t).messages }
        func close() -> Bool { machine.close() }
        func send(_ m: String, afterSeq seq: Int64) -> Bool { machine.send(m, afterSeq: seq) }
        func published(through seq: Int64) -> [String] { machine.published(through: seq) }
        func waitStarted() -> Bool { machine.waitStarted() }
        func waitEnded() { machine.waitEnded() }
        func replayStarted() -> Bool { machine.replayStarted() }
        func replayEnded() { machine.replayEnded() }
    }

    @Test func liveDeliversNewerMatchingEventsOfItsChannelOnce() {
        let machine = Box(bufferLimit: 10)
        _ = machine.subscribe(Subscription(channel: .projects, filter: ["track": .string("a")]), latestSeq: 5)
        #expect(machine.live(Self.event(5)) == .drop)  // not after the subscription
        #expect(machine.live(Self.event(6)) == .deliver)
        #expect(machine.live(Self.event(6)) == .drop)  // duplicate
        #expect(machine.live(Self.event(7, .users)) == .drop)  // other channel
        #expect(machine.live(Self.event(8, track: "b")) == .drop)  // filtered out
        #expect(machine.live(Self.event(9)) == .deliver)
        machine.unsubscribe(.projects)
        #expect(machine.live(Self.event(10)) == .drop)
    }

    @Test func closingStopsEverythingAndReportsOnce() {
        let machine = Box(bufferLimit: 10)
        let ticket = machine.subscribe(Subscription(channel: .projects, since: 0), latestSeq: 0)
        #expect(machine.close())
        #expect(!machine.close())
        #expect(machine.live(Self.event(1)) == .drop)
        #expect(!machine.isCurrent(ticket))
        #expect(!machine.replayed(Self.event(1), for: ticket))
        #expect(machine.finishReplay(ticket).isEmpty)
    }

    @Test func aFullReplayBufferOverflows() {
        let machine = Box(bufferLimit: 2)
        _ = machine.subscribe(Subscription(channel: .projects, since: 0), latestSeq: 0)
        #expect(machine.live(Self.event(1)) == .buffered)
        #expect(machine.live(Self.event(2)) == .buffered)
        #expect(machine.live(Self.event(3)) == .overflow)
    }

    @Test func aResubscriptionSupersedesTheRunningReplay() {
        let machine = Box(bufferLimit: 10)
        let first = machine.subscribe(Subscription(channel: .projects, since: 0), latestSeq: 9)
        #expect(machine.replayed(Self.event(1), for: first))
        #expect(machine.live(Self.event(10)) == .buffered)
        let second = machine.subscribe(Subscription(channel: .projects, since: 5), latestSeq: 10)
        #expect(!machine.isCurrent(first))
        #expect(!machine.replayed(Self.event(2), for: first))
        #expect(machine.finishReplay(first).isEmpty)
        // The new subscription starts over from its own since, with a fresh buffer.
        #expect(machine.replayed(Self.event(6), for: second))
        #expect(machine.live(Self.event(11)) == .buffered)
        #expect(machine.finishReplay(second).map(\.event.seq) == [11])
        #expect(machine.live(Self.event(12)) == .deliver)
    }

    @Test func unsubscribingDuringAReplayStopsIt() {
        let machine = Box(bufferLimit: 10)
        let ticket = machine.subscribe(Subscription(channel: .projects, since: 0), latestSeq: 3)
        #expect(machine.live(Self.event(4)) == .buffered)
        machine.unsubscribe(.projects)
        #expect(!machine.isCurrent(ticket))
        #expect(machine.finishReplay(ticket).isEmpty)
        #expect(machine.live(Self.event(5)) == .drop)
    }

    @Test func aWaitAnswerWaitsForTheEventsUpToItsSeqInTheOrderAnswered() {
        let machine = Box(bufferLimit: 10, publishedThrough: 5)
        #expect(machine.send("unsubscribed", afterSeq: 9), "no subscription: no event is owed")
        _ = machine.subscribe(Subscription(channel: .projects), latestSeq: 5)
        #expect(machine.send("A", afterSeq: 5))  // its events went out already
        #expect(!machine.send("B", afterSeq: 8))
        #expect(!machine.send("C", afterSeq: 6))  // behind B: answers keep their order
        #expect(machine.published(through: 7) == [])
        #expect(machine.published(through: 8) == ["B", "C"])
        #expect(machine.send("D", afterSeq: 8))
    }

    @Test func aWaitAnswerWaitsForAReplayToEnd() {
        let machine = Box(bufferLimit: 10, publishedThrough: 3)
        let ticket = machine.subscribe(Subscription(channel: .projects, since: 0), latestSeq: 3)
        #expect(!machine.send("A", afterSeq: 3))  // seqs 1...3 may still be replayed
        #expect(machine.published(through: 4) == [])
        #expect(machine.finishReplayMessages(ticket) == ["A"])
        let again = machine.subscribe(Subscription(channel: .projects, since: 0), latestSeq: 4)
        #expect(!machine.send("B", afterSeq: 4))
        #expect(machine.unsubscribe(.projects) == ["B"])  // the replay stops: nothing more to wait for
        #expect(machine.finishReplayMessages(again) == [])
    }

    @Test func aClosedSubscriberGetsNoAnswers() {
        let machine = Box(bufferLimit: 10, publishedThrough: 0)
        _ = machine.subscribe(Subscription(channel: .projects), latestSeq: 0)
        #expect(!machine.send("A", afterSeq: 1))
        #expect(machine.close())
        #expect(machine.published(through: 1) == [])
        #expect(!machine.send("B", afterSeq: 0))
    }

    @Test func pendingWaitsAreBounded() {
        let machine = Box(bufferLimit: 10)
        for _ in 0..<Machine.maximumPendingWaits { #expect(machine.waitStarted()) }
        #expect(!machine.waitStarted())
        machine.waitEnded()
        #expect(machine.waitStarted())
    }

    @Test func runningReplaysAreBounded() {
        let machine = Box(bufferLimit: 10)
        for _ in 0..<Machine.maximumRunningReplays { #expect(machine.replayStarted()) }
        #expect(!machine.replayStarted())
        machine.replayEnded()
        #expect(machine.replayStarted())
    }

    /// Requests are not queued behind a replay: two channels can replay at
    /// once, each in its own order, and an answer waits for both.
    @Test func twoChannelsReplayAtOnceAndAnAnswerWaitsForBoth() {
        let machine = Box(bufferLimit: 10, publishedThrough: 5)
        let projects = machine.subscribe(Subscription(channel: .projects, since: 0), latestSeq: 5)
        let users = machine.subscribe(Subscription(channel: .users, since: 0), latestSeq: 5)
        #expect(!machine.send("synced 5", afterSeq: 5), "held while a channel replays")
        #expect(machine.replayed(Self.event(2, .users), for: users))
        #expect(!machine.replayed(Self.event(3, .users), for: projects), "a replay delivers its own channel only")
        #expect(machine.replayed(Self.event(3), for: projects))
        #expect(machine.live(Self.event(6, .users)) == .buffered)
        #expect(machine.finishReplay(users).map(\.event.seq) == [6])
        #expect(machine.finishReplayMessages(projects) == ["synced 5"], "answered once the last replay ended")
    }

    /// Every interleaving of commits, live publications and replay pages
    /// (seeded, so a failure names its schedule): each matching seq after
    /// `since` is delivered exactly once, in increasing order; and a wait
    /// answered with seq S (the newest committed then) while subscribed comes
    /// after every delivered event at or below S.
    @Test func replayThenLiveDeliversEachSeqOnceInOrder() {
        for seed in UInt64(0)..<500 { checkHandOff(seed: seed) }
    }

    func checkHandOff(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let total = 1 + Int(random.next() % 40)
        let events: [EncodedEvent] = (1...total).map { seq in
            Self.event(Int64(seq), random.next() % 5 == 0 ? .users : .projects, track: random.next() % 3 == 0 ? "b" : "a")
        }
        let since = Int64(random.next() % UInt64(total + 1))
        let filtered = random.next() % 2 == 0
        let subscription = Subscription(channel: .projects, filter: filtered ? ["track": .string("a")] : [:], since: since)
        let pageSize = 1 + Int(random.next() % 4)

        var machine = Machine(bufferLimit: 1000)
        var committed = 0, published = 0
        var ticket: Machine.Ticket?
        var cursor = since
        var replayDone = false
        var delivered: [Int64] = []
        // The answer to one wait: its seq, whether the subscription existed
        // when it was asked, and how many events were delivered before it went out.
        var answer: (seq: Int64, subscribed: Bool)?
        var answeredAfter: Int?

        while committed < total || published < total || !replayDone || answeredAfter == nil {
            switch random.next() % 5 {
            case 0 where committed < total:
                committed += 1
            case 1 where published < committed:
                // The hub publishes committed events in seq order.
                let event = events[published]
                published += 1
                if machine.live(event) == .deliver { delivered.append(event.event.seq) }
                if !machine.published(through: event.event.seq).isEmpty { answeredAfter = delivered.count }
            case 2 where ticket == nil:
                ticket = machine.subscribe(subscription, latestSeq: Int64(published))
            case 3 where ticket != nil && !replayDone:
                // One page of the log as committed so far.
                let page = events[..<committed].filter { $0.event.seq > cursor && $0.event.ref.entity == .projects }.prefix(pageSize)
                for event in page where machine.replayed(event, for: ticket!) { delivered.append(event.event.seq) }
                cursor = page.last?.event.seq ?? cursor
                if page.count < pageSize {
                    let (events, messages) = machine.finishReplay(ticket!)
                    delivered += events.map(\.event.seq)
                    if !messages.isEmpty { answeredAfter = delivered.count }
                    replayDone = true
                }
            case 4 where answer == nil:
                answer = (Int64(committed), ticket != nil)
                if machine.send("synced", afterSeq: Int64(committed)) { answeredAfter = delivered.count }
            case _ where answer == nil && committed == total && published == total && replayDone:
                answer = (Int64(committed), ticket != nil)
                if machine.send("synced", afterSeq: Int64(committed)) { answeredAfter = delivered.count }
            default:
                continue
            }
        }
        let expected = events.filter {
            $0.event.ref.entity == .projects && $0.event.seq > since && (!filtered || $0.document?["track"] == .string("a"))
        }.map(\.event.seq)
        #expect(delivered == expected, "seed \(seed): total \(total), since \(since), page \(pageSize)")
        if let answer, answer.subscribed, let answeredAfter {
            #expect(!delivered[answeredAfter...].contains { $0 <= answer.seq },
                    "seed \(seed): the answer for seq \(answer.seq) went out after \(delivered[..<answeredAfter])")
        }
    }
}

/// A small deterministic generator, so a failing schedule can be replayed from its seed.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
