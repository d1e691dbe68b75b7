import Sync
import Testing

@Suite struct CircuitBreakerTests {
    let start = ContinuousClock.now

    @Test func opensAfterTheThresholdAndWaitsOutTheCooldown() {
        var breaker = CircuitBreaker(threshold: 3, cooldown: .seconds(1), maximumCooldown: .seconds(8))
        let r1 = breaker.admit(at: start)
        #expect(r1 == .flowing)
        let r2 = breaker.recordFailure(at: start)
        #expect(!r2)
        let r3 = breaker.recordFailure(at: start)
        #expect(!r3)
        let r4 = breaker.admit(at: start)
        #expect(r4 == .flowing, "below the threshold the pipeline keeps flowing")
        let r5 = breaker.recordFailure(at: start)
        #expect(r5, "the third failure opens it")
        let r6 = breaker.admit(at: start + .milliseconds(999))
        #expect(r6 == .wait(until: start + .seconds(1)))
        #expect(breaker.stateName == "open")
        let r7 = breaker.admit(at: start + .seconds(1))
        #expect(r7 == .probe)
        #expect(breaker.stateName == "half-open")
        let r8 = breaker.admit(at: start + .seconds(2))
        #expect(r8 == .probe, "half-open stays a probe until it is answered")
    }

    @Test func aFailedProbeReopensWithADoubledCooldownUpToTheMaximum() {
        var breaker = CircuitBreaker(threshold: 1, cooldown: .seconds(1), maximumCooldown: .seconds(3))
        var now = start
        var cooldowns: [Duration] = []
        for _ in 0..<4 {
            let r9 = breaker.recordFailure(at: now)
            #expect(r9)
            guard case .open(let until) = breaker.state else { Issue.record("not open"); return }
            cooldowns.append(until - now)
            now = until
            let r10 = breaker.admit(at: now)
            #expect(r10 == .probe)
        }
        #expect(cooldowns == [.seconds(1), .seconds(2), .seconds(3), .seconds(3)])
    }

    @Test func aSuccessClosesAndResetsEverything() {
        var breaker = CircuitBreaker(threshold: 2, cooldown: .seconds(1), maximumCooldown: .seconds(30))
        breaker.recordFailure(at: start)
        breaker.recordFailure(at: start)
        _ = breaker.admit(at: start + .seconds(1))
        breaker.recordSuccess()
        #expect(breaker.state == .closed)
        #expect(breaker.consecutiveFailures == 0)
        #expect(breaker.nextCooldown == .seconds(1), "the next outage starts from the base cool-down")
        let r11 = breaker.recordFailure(at: start)
        #expect(!r11, "one failure after a success does not reopen it")
    }
}

@Suite struct BatchSizerTests {
    @Test func overloadHalvesDownToTheMinimum() {
        var sizer = BatchSizer(maximum: 500, minimum: 10)
        #expect(sizer.limit == 500)
        sizer.overloaded(claimedWith: 500)
        #expect(sizer.limit == 250)
        for _ in 0..<10 { sizer.overloaded(claimedWith: sizer.limit) }
        #expect(sizer.limit == 10)
    }

    @Test func twoRefusedBatchesInFlightHalveItOnceAndAStaleBatchDoesNotGrowIt() {
        var sizer = BatchSizer(maximum: 400)
        sizer.overloaded(claimedWith: 400)
        sizer.overloaded(claimedWith: 400)
        #expect(sizer.limit == 200, "one overload wave, one halving")
        sizer.written(changes: 400, claimedWith: 400)
        #expect(sizer.limit == 200, "claimed under the old limit: no evidence about the new one")
        sizer.written(changes: 200, claimedWith: 200)
        #expect(sizer.limit == 250)
    }

    @Test func fullBatchesGrowItBackByAQuarterAndPartialOnesDoNot() {
        var sizer = BatchSizer(maximum: 100)
        for _ in 0..<4 { sizer.overloaded(claimedWith: sizer.limit) }
        #expect(sizer.limit == 6)
        sizer.written(changes: 3, claimedWith: 6)
        #expect(sizer.limit == 6, "a batch below the limit says nothing about a larger one")
        sizer.written(changes: 6, claimedWith: 6)
        #expect(sizer.limit == 7)
        var limits: [Int] = []
        while sizer.limit < 100 {
            sizer.written(changes: sizer.limit, claimedWith: sizer.limit)
            limits.append(sizer.limit)
        }
        #expect(limits.last == 100, "capped at the maximum")
        #expect(limits.count < 20, "back to full size in a few dozen batches: \(limits)")
    }

    @Test func aLimitOfOneStillGrows() {
        var sizer = BatchSizer(maximum: 4)
        for _ in 0..<3 { sizer.overloaded(claimedWith: sizer.limit) }
        #expect(sizer.limit == 1)
        sizer.written(changes: 1, claimedWith: 1)
        #expect(sizer.limit == 2)
    }
}
