import Sync
import Testing

@Suite struct SyncPipelineTests {
    typealias Pipeline = SyncPipeline<String>
    let start = ContinuousClock.now

    /// The pipeline behind a reference, so `#expect` can call its mutating members.
    final class Box {
        var p: Pipeline
        init(depth: Int = 2, batchSize: Int = 100, threshold: Int = 3, fresh: FreshLane? = nil) {
            p = Pipeline(depth: depth, breaker: CircuitBreaker(threshold: threshold, cooldown: .seconds(1)),
                         sizer: BatchSizer(maximum: batchSize), idle: IdleSchedule(), fresh: fresh)
        }
        func next(_ now: ContinuousClock.Instant, stopping: Bool = false) -> Pipeline.Step { p.next(at: now, stopping: stopping) }
        func claimed(_ seqs: [Int64], limit: Int = 100, horizon: Int64? = nil) -> Int { p.claimed(seqs, limit: limit, horizon: horizon) }
        /// What the last settling round's `finishSettling` returned: the failures to back off with.
        var backoff: Int?
        /// Completes `id`; the batches a settling round would take now, in order.
        func completed(_ id: Int, _ payload: String) -> [Pipeline.Due] {
            p.completed(id, payload)
            return due()
        }
        func due() -> [Pipeline.Due] {
            guard p.settleDue, case .settle(let due) = p.next(at: .now, stopping: false) else { return [] }
            return due
        }
        /// Completes `id` and settles the batches due with `outcome`, as one
        /// round; the payloads settled, in order.
        @discardableResult
        func settle(_ id: Int, _ outcome: Pipeline.Outcome, at now: ContinuousClock.Instant, wrote: Bool = true) -> [String] {
            let due = completed(id, "b\(id)")
            guard !due.isEmpty else { return [] }
            for batch in due { _ = p.settled(batch, wroteDocuments: wrote, outcome, at: now) }
            backoff = p.finishSettling()
            return due.map(\.payload)
        }
        func claimFailed() -> Int? { p.claimFailed() }
    }

    @Test func claimsUpToTheDepthThenWaitsForTheOldest() {
        let box = Box(depth: 2)
        #expect(box.next(start) == .claim(limit: 100))
        _ = box.claimed([1, 2])
        #expect(box.next(start) == .claim(limit: 100))
        _ = box.claimed([3])
        #expect(box.next(start) == .awaitCompletion(until: nil))
        #expect(box.p.claimedSeqs == [1, 2, 3])
    }

    /// A claim reads while earlier batches settle, so the engine runs it
    /// beside them; one at a time, and it counts toward the depth.
    @Test func oneClaimAtATimeRunsBesideTheBatchesInFlight() {
        let box = Box(depth: 2, fresh: Self.lane)
        #expect(box.next(start) == .claim(limit: 100))
        box.p.claimStarted(at: start)
        #expect(box.next(start) == .awaitCompletion(until: start + .milliseconds(100)),
                "no second claim while one runs (a fresh one is due if it still runs an interval later)")
        let b0 = box.claimed(Array(1...100), horizon: 500)
        #expect(box.next(start) == .claim(limit: 100))
        box.p.claimStarted(at: start)
        #expect(box.next(start + .milliseconds(100)) == .claimFresh(.above(500), limit: 10),
                "a fresh claim runs beside a backlog claim: the settle drops whichever state is older")
        _ = box.p.claimedFresh([501], horizon: 501)
        #expect(box.next(start, stopping: true) == .awaitCompletion(until: nil), "a running claim is waited for")
        box.p.foundNothing()
        #expect(box.settle(b0, .settled, at: start) == ["b0"])
        #expect(box.settle(1, .settled, at: start) == ["b1"])
        #expect(box.next(start, stopping: true) == .finish)
    }

    /// A small claim under a steady stream: the next one waits for the
    /// gathering window, whether or not anything is in flight.
    @Test func aSmallClaimIsFollowedByTheNextOnlyAfterTheGatheringWindow() {
        let box = Box(depth: 2)
        box.p = Pipeline(depth: 2, breaker: CircuitBreaker(threshold: 3, cooldown: .seconds(1)),
                         sizer: BatchSizer(maximum: 100), idle: IdleSchedule(), gather: .milliseconds(50), gatherBelow: 10)
        box.p.claimStarted(at: start)
        let b0 = box.claimed([1, 2, 3])  // fewer than 10: gather
        #expect(box.next(start) == .awaitCompletion(until: start + .milliseconds(50)))
        #expect(box.settle(b0, .settled, at: start) == ["b0"])
        #expect(box.next(start + .milliseconds(20)) == .awaitCompletion(until: start + .milliseconds(50)),
                "nothing in flight, and still it waits: not idle, not a claim")
        #expect(box.next(start + .milliseconds(50)) == .claim(limit: 100))
        box.p.claimStarted(at: start)
        _ = box.claimed(Array(4...20))  // enough: the next claim may follow at once
        #expect(box.next(start + .milliseconds(50)) == .claim(limit: 100))
        box.p.claimStarted(at: start)
        _ = box.claimed([21])
        #expect(box.next(start + .milliseconds(60), stopping: true) == .awaitCompletion(until: nil), "stopping does not gather")
    }

    @Test func batchesSettleInClaimOrderWhateverOrderTheyAreWrittenIn() {
        let box = Box(depth: 3)
        let a = box.claimed([1]), b = box.claimed([2]), c = box.claimed([3])
        #expect(box.completed(c, "c").isEmpty)
        #expect(box.completed(b, "b").isEmpty)
        #expect(box.p.claimedSeqs == [1, 2, 3])  // still claimed: not settled yet
        let due = box.completed(a, "a")
        #expect(due.map(\.payload) == ["a", "b", "c"])
        #expect(box.p.claimedSeqs == [1, 2, 3], "claimed until settled: no claim takes them again meanwhile")
        for batch in due { _ = box.p.settled(batch, wroteDocuments: true, .settled, at: start) }
        #expect(box.p.claimedSeqs.isEmpty)
        #expect(box.p.finishSettling() == nil)
        #expect(box.p.inFlight == 0)
    }

    /// A large backlog batch's settle takes a second; meanwhile the fresh
    /// lane claims and writes, and the next round waits for this one.
    @Test func aSettlingRoundRunsBesideTheFreshLaneOneRoundAtATime() {
        let box = Box(depth: 1, batchSize: 100, fresh: Self.lane)
        let b0 = box.claimed(Array(1...100), horizon: 1_000)
        let round = box.completed(b0, "b0")
        #expect(round.map(\.payload) == ["b0"])
        #expect(box.p.settling)
        #expect(box.next(start + .milliseconds(50)) == .awaitCompletion(until: start + .milliseconds(150)),
                "the backlog's slot is taken until its batch is settled")
        #expect(box.next(start + .milliseconds(150)) == .claimFresh(.above(1_000), limit: 10))
        let f0 = box.p.claimedFresh([1_001], horizon: 1_001)
        #expect(box.completed(f0, "f0").isEmpty, "written, it waits for the running round")
        #expect(box.next(start + .milliseconds(160), stopping: true) == .awaitCompletion(until: nil), "stopping waits for the round")
        _ = box.p.settled(round[0], wroteDocuments: true, .settled, at: start)
        #expect(box.p.finishSettling() == nil)
        #expect(box.due().map(\.payload) == ["f0"], "the next round")
        #expect(box.next(start + .milliseconds(170)) == .claim(limit: 100))
    }

    @Test func anEmptyClaimWaitsOnceBeforeClaimingAgain() {
        let box = Box(depth: 2)
        _ = box.claimed([1])
        box.p.foundNothing()
        #expect(box.next(start) == .awaitCompletion(until: nil))  // something in flight: wait for it
        #expect(box.settle(0, .settled, at: start) == ["b0"])
        #expect(box.next(start) == .claim(limit: 100))
        box.p.foundNothing()
        #expect(box.next(start) == .idle)  // nothing in flight: linger, arm or sleep
        #expect(box.next(start) == .claim(limit: 100))  // and then look again
    }

    @Test func aFailedClaimBacksOffOnlyWhenNothingIsInFlight() {
        let box = Box()
        #expect(box.claimFailed() == 1)
        #expect(box.claimFailed() == 2)
        _ = box.claimed([1])
        #expect(box.claimFailed() == nil)  // wait for the batch in flight instead
        #expect(box.next(start) == .awaitCompletion(until: nil))
        #expect(box.settle(0, .settled, at: start) == ["b0"])
        #expect(box.p.failures == 0)
    }

    @Test func failedSettlesBackOffAndRepeatedIndexFailuresOpenTheBreaker() {
        let box = Box(depth: 1, threshold: 2)
        _ = box.claimed([1])
        box.settle(0, .storeFailed, at: start)
        #expect(box.backoff == 1)
        _ = box.claimed([1])
        box.settle(1, .indexFailed(overloaded: false), at: start)
        #expect(box.backoff == 2)
        _ = box.claimed([1])
        let due = box.completed(2, "b2")
        #expect(box.p.settled(due[0], wroteDocuments: true, .indexFailed(overloaded: false), at: start) == start + .seconds(1))
        #expect(box.p.finishSettling() == nil)  // the open breaker does the waiting
        #expect(box.next(start + .milliseconds(500)) == .waitForBreaker(until: start + .seconds(1)))
        // Cool-down over: one probe batch at a time.
        #expect(box.next(start + .seconds(1)) == .claim(limit: 100))
        _ = box.claimed([1])
        #expect(box.next(start + .seconds(1)) == .awaitCompletion(until: nil))
        box.settle(3, .settled, at: start + .seconds(1))
        #expect(box.p.breaker.state == .closed)
        #expect(box.backoff == nil)
        #expect(box.p.failures == 0)
    }

    @Test func aBatchWithoutDocumentsDoesNotCloseTheBreaker() {
        let box = Box(depth: 1, threshold: 1)
        _ = box.claimed([1])
        _ = box.settle(0, .indexFailed(overloaded: false), at: start)
        #expect(box.next(start + .seconds(1)) == .claim(limit: 100))  // the probe
        _ = box.claimed([2])
        _ = box.settle(1, .settled, at: start + .seconds(1), wrote: false)
        #expect(box.p.breaker.state == .halfOpen)
    }

    @Test func anOverloadedIndexHalvesTheNextClaim() {
        let box = Box(depth: 1, batchSize: 100)
        _ = box.claimed(Array(1...100), limit: 100)
        _ = box.settle(0, .indexFailed(overloaded: true), at: start)
        #expect(box.next(start) == .claim(limit: 50))
    }

    @Test func stoppingClaimsNothingAndFinishesOnceDrained() {
        let box = Box(depth: 2)
        _ = box.claimed([1])
        #expect(box.next(start, stopping: true) == .awaitCompletion(until: nil))
        _ = box.settle(0, .settled, at: start)
        #expect(box.next(start, stopping: true) == .finish)
    }

    // MARK: the fresh lane

    static let lane = FreshLane(limit: 10, interval: .milliseconds(100), writing: 1)

    @Test func whileABacklogDrainsChangesAboveTheHorizonAreClaimedBesideItEveryInterval() {
        let box = Box(depth: 2, batchSize: 100, fresh: Self.lane)
        let b0 = box.claimed(Array(1...100), horizon: 5_000)  // filled its limit: a backlog
        #expect(box.p.backlogged)
        let b1 = box.claimed(Array(101...200), horizon: 5_007)
        #expect(box.p.horizon == 5_000, "a backlog claim does not move the horizon: what it left pending is still fresh")
        #expect(box.next(start) == .awaitCompletion(until: start + .milliseconds(100)))
        #expect(box.next(start + .milliseconds(100)) == .claimFresh(.above(5_000), limit: 10))
        let f0 = box.p.claimedFresh([5_003], horizon: 5_004)
        // One fresh batch written at a time; the backlog's slots are still both taken.
        #expect(box.next(start + .milliseconds(150)) == .awaitCompletion(until: nil))
        // Written, it waits to settle behind the backlog's batches, and the next fresh claim is due.
        #expect(box.completed(f0, "f0").isEmpty)
        #expect(box.next(start + .milliseconds(160)) == .awaitCompletion(until: start + .milliseconds(260)))
        #expect(box.next(start + .milliseconds(260)) == .claimFresh(.above(5_004), limit: 10))
        #expect(box.next(start + .milliseconds(400)) == .awaitCompletion(until: nil), "one fresh claim at a time")
        box.p.freshClaimEnded()
        #expect(box.p.claimedSeqs.contains(5_003), "claimed until settled: no later claim takes it again")
        #expect(box.completed(b1, "b1").isEmpty)
        #expect(box.settle(b0, .settled, at: start) == ["b0", "b1", "f0"])
        #expect(!box.p.claimedSeqs.contains(5_003))
    }

    /// The first claim of a backlog reads and coalesces it for a second or
    /// more before anyone knows it is one: an edit made meanwhile is
    /// claimed beside it, newest first, an interval after it started.
    @Test func aBacklogClaimStillReadingAfterAnIntervalHasTheFreshLaneBesideIt() {
        let box = Box(depth: 2, batchSize: 100, fresh: Self.lane)
        #expect(box.next(start) == .claim(limit: 100))
        box.p.claimStarted(at: start)
        #expect(box.next(start + .milliseconds(50)) == .awaitCompletion(until: start + .milliseconds(100)))
        #expect(box.next(start + .milliseconds(100)) == .claimFresh(.newestBeyondOldest(100), limit: 10), "beyond what the running claim takes")
        let f0 = box.p.claimedFresh([9_001], horizon: 9_001)
        #expect(box.completed(f0, "f0").map(\.payload) == ["f0"])
        #expect(box.next(start + .milliseconds(150)) == .awaitCompletion(until: start + .milliseconds(250)))
        #expect(box.next(start + .milliseconds(250)) == .claimFresh(.above(9_001), limit: 10), "then above what it saw")
        box.p.freshClaimEnded()
        let b0 = box.claimed(Array(1...100), horizon: 9_000)
        #expect(box.p.horizon == 9_001, "the backlog keeps the fresh lane's horizon: below it is the backlog's")
        _ = b0
        // A claim that returns within the interval (no backlog) never has one beside it.
        let quiet = Box(depth: 2, batchSize: 100, fresh: Self.lane)
        quiet.p.claimStarted(at: start)
        _ = quiet.claimed([1, 2], horizon: 2)
        #expect(quiet.next(start + .seconds(1)) == .claim(limit: 100))
        quiet.p.claimStarted(at: start + .seconds(1))
        #expect(quiet.next(start + .seconds(1)) == .awaitCompletion(until: start + .milliseconds(1_100)))
    }

    /// A fresh bulk can wait at a busy index for longer than the interval:
    /// the next fresh claim does not wait for it, up to `writing` at once.
    @Test func theNextFreshClaimDoesNotWaitForTheLastOnesWrite() {
        let box = Box(depth: 1, batchSize: 100, fresh: FreshLane(limit: 10, interval: .milliseconds(100), writing: 2))
        _ = box.claimed(Array(1...100), horizon: 100)
        #expect(box.next(start + .milliseconds(100)) == .awaitCompletion(until: start + .milliseconds(200)))
        #expect(box.next(start + .milliseconds(200)) == .claimFresh(.above(100), limit: 10))
        _ = box.p.claimedFresh([101], horizon: 101)
        #expect(box.next(start + .milliseconds(210)) == .awaitCompletion(until: start + .milliseconds(310)))
        #expect(box.next(start + .milliseconds(310)) == .claimFresh(.above(101), limit: 10), "the first still being written")
        let f1 = box.p.claimedFresh([102], horizon: 102)
        #expect(box.next(start + .seconds(1)) == .awaitCompletion(until: nil), "two being written: the next waits")
        #expect(box.completed(f1, "f1").isEmpty)
        #expect(box.next(start + .seconds(1)) == .awaitCompletion(until: start + .milliseconds(1_100)))
    }

    @Test func freshBatchesTakeNoBacklogSlotAndDoNotResizeIt() {
        let box = Box(depth: 1, batchSize: 100, fresh: Self.lane)
        let b0 = box.claimed(Array(1...100), horizon: 100)
        #expect(box.next(start + .milliseconds(100)) == .awaitCompletion(until: start + .milliseconds(200)))
        #expect(box.next(start + .milliseconds(200)) == .claimFresh(.above(100), limit: 10))
        let f0 = box.p.claimedFresh([101, 102], horizon: 102)
        #expect(box.settle(b0, .settled, at: start) == ["b0"])
        #expect(box.next(start) == .claim(limit: 100), "the fresh batch in flight leaves the backlog its slot")
        _ = box.claimed(Array(103...202), horizon: 300)
        #expect(box.settle(f0, .indexFailed(overloaded: true), at: start) == ["b\(f0)"])
        #expect(box.p.sizer.limit == 100, "a fresh batch's size says nothing about the backlog's")
    }

    @Test func noFreshClaimsWithoutABacklogOrWhileTheBreakerProbes() {
        let box = Box(depth: 1, batchSize: 100, threshold: 1, fresh: Self.lane)
        _ = box.claimed([1, 2], horizon: 2)  // did not fill its limit: no backlog
        #expect(!box.p.backlogged)
        #expect(box.next(start + .seconds(5)) == .awaitCompletion(until: nil))
        _ = box.settle(0, .settled, at: start)
        let b1 = box.claimed(Array(3...102), horizon: 500)
        _ = box.settle(b1, .indexFailed(overloaded: false), at: start)  // opens the breaker
        #expect(box.next(start + .seconds(1)) == .claim(limit: 100))  // the probe, not a fresh claim
        _ = box.claimed(Array(3...102), horizon: 500)
        #expect(box.next(start + .seconds(2)) == .awaitCompletion(until: nil))
        box.p.foundNothing()
        #expect(!box.p.backlogged)
        #expect(box.p.horizon == nil, "the next backlog measures its own")
    }
}
