import Sync
import Testing

@Suite struct SyncPipelineTests {
    typealias Pipeline = SyncPipeline<String>
    let start = ContinuousClock.now

    /// The pipeline behind a reference, so `#expect` can call its mutating members.
    final class Box {
        var p: Pipeline
        init(depth: Int = 2, batchSize: Int = 100, threshold: Int = 3) {
            p = Pipeline(depth: depth, breaker: CircuitBreaker(threshold: threshold, cooldown: .seconds(1)),
                         sizer: BatchSizer(maximum: batchSize), idle: IdleSchedule())
        }
        func next(_ now: ContinuousClock.Instant, stopping: Bool = false) -> Pipeline.Step { p.next(at: now, stopping: stopping) }
        func claimed(_ seqs: [Int64], limit: Int = 100) -> Int { p.claimed(seqs, limit: limit) }
        func completed(_ id: Int, _ payload: String) -> [String] { p.completed(id, payload).map(\.payload) }
        /// Completes and settles `id` with `outcome`; the payloads settled, in order.
        func settle(_ id: Int, _ outcome: Pipeline.Outcome, at now: ContinuousClock.Instant, wrote: Bool = true) -> [String] {
            let due = p.completed(id, "b\(id)")
            for batch in due { _ = p.settled(batch, wroteDocuments: wrote, outcome, at: now) }
            return due.map(\.payload)
        }
        func finishSettling() -> Int? { p.finishSettling() }
        func claimFailed() -> Int? { p.claimFailed() }
    }

    @Test func claimsUpToTheDepthThenWaitsForTheOldest() {
        let box = Box(depth: 2)
        #expect(box.next(start) == .claim(limit: 100))
        _ = box.claimed([1, 2])
        #expect(box.next(start) == .claim(limit: 100))
        _ = box.claimed([3])
        #expect(box.next(start) == .awaitCompletion)
        #expect(box.p.claimedSeqs == [1, 2, 3])
    }

    @Test func batchesSettleInClaimOrderWhateverOrderTheyAreWrittenIn() {
        let box = Box(depth: 3)
        let a = box.claimed([1]), b = box.claimed([2]), c = box.claimed([3])
        #expect(box.completed(c, "c").isEmpty)
        #expect(box.completed(b, "b").isEmpty)
        #expect(box.p.claimedSeqs == [1, 2, 3])  // still claimed: not settled yet
        #expect(box.completed(a, "a") == ["a", "b", "c"])
        #expect(box.p.claimedSeqs.isEmpty)
        #expect(box.p.inFlight == 0)
    }

    @Test func anEmptyClaimWaitsOnceBeforeClaimingAgain() {
        let box = Box(depth: 2)
        _ = box.claimed([1])
        box.p.foundNothing()
        #expect(box.next(start) == .awaitCompletion)  // something in flight: wait for it
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
        #expect(box.next(start) == .awaitCompletion)
        #expect(box.settle(0, .settled, at: start) == ["b0"])
        #expect(box.p.failures == 0)
    }

    @Test func failedSettlesBackOffAndRepeatedIndexFailuresOpenTheBreaker() {
        let box = Box(depth: 1, threshold: 2)
        _ = box.claimed([1])
        _ = box.settle(0, .storeFailed, at: start)
        #expect(box.finishSettling() == 1)
        _ = box.claimed([1])
        _ = box.settle(1, .indexFailed(overloaded: false), at: start)
        #expect(box.finishSettling() == 2)
        _ = box.claimed([1])
        let due = box.p.completed(2, "b2")
        #expect(box.p.settled(due[0], wroteDocuments: true, .indexFailed(overloaded: false), at: start) == start + .seconds(1))
        #expect(box.finishSettling() == nil)  // the open breaker does the waiting
        #expect(box.next(start + .milliseconds(500)) == .waitForBreaker(until: start + .seconds(1)))
        // Cool-down over: one probe batch at a time.
        #expect(box.next(start + .seconds(1)) == .claim(limit: 100))
        _ = box.claimed([1])
        #expect(box.next(start + .seconds(1)) == .awaitCompletion)
        _ = box.settle(3, .settled, at: start + .seconds(1))
        #expect(box.p.breaker.state == .closed)
        #expect(box.finishSettling() == nil)
        #expect(box.p.failures == 0)
    }

    @Test func aBatchWithoutDocumentsDoesNotCloseTheBreaker() {
        let box = Box(depth: 1, threshold: 1)
        _ = box.claimed([1])
        _ = box.settle(0, .indexFailed(overloaded: false), at: start)
        _ = box.finishSettling()
        #expect(box.next(start + .seconds(1)) == .claim(limit: 100))  // the probe
        _ = box.claimed([2])
        _ = box.settle(1, .settled, at: start + .seconds(1), wrote: false)
        #expect(box.p.breaker.state == .halfOpen)
    }

    @Test func anOverloadedIndexHalvesTheNextClaim() {
        let box = Box(depth: 1, batchSize: 100)
        _ = box.claimed(Array(1...100), limit: 100)
        _ = box.settle(0, .indexFailed(overloaded: true), at: start)
        _ = box.finishSettling()
        #expect(box.next(start) == .claim(limit: 50))
    }

    @Test func stoppingClaimsNothingAndFinishesOnceDrained() {
        let box = Box(depth: 2)
        _ = box.claimed([1])
        #expect(box.next(start, stopping: true) == .awaitCompletion)
        _ = box.settle(0, .settled, at: start)
        #expect(box.next(start, stopping: true) == .finish)
    }
}
