import Sync
import Testing

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(base: .milliseconds(100), cap: .seconds(5))

    @Test func ceilingDoublesPerFailureUpToTheCap() {
        #expect(policy.ceiling(afterFailures: 0) == .zero)
        #expect(policy.ceiling(afterFailures: 1) == .milliseconds(100))
        #expect(policy.ceiling(afterFailures: 2) == .milliseconds(200))
        #expect(policy.ceiling(afterFailures: 4) == .milliseconds(800))
        #expect(policy.ceiling(afterFailures: 7) == .seconds(5))
        #expect(policy.ceiling(afterFailures: 10_000) == .seconds(5))
    }

    @Test func jitterStaysWithinZeroAndTheCeiling() {
        #expect(policy.delay(afterFailures: 3, unit: 0) == .zero)
        #expect(policy.delay(afterFailures: 3, unit: 0.5) == .milliseconds(200))
        #expect(policy.delay(afterFailures: 3, unit: 7) == .milliseconds(400))
        var generator = SystemRandomNumberGenerator()
        for failures in 1...20 {
            let delay = policy.delay(afterFailures: failures, using: &generator)
            #expect(delay >= .zero && delay <= policy.ceiling(afterFailures: failures))
        }
    }
}
