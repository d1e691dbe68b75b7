import Sync
import Testing

/// When the engine lingers, arms the wake-up or sleeps: the decisions that
/// keep captures from sending NOTIFYs while the engine is busy.
@Suite struct IdleScheduleTests {
    @Test func afterABusySpellItLooksAgainBeforeArming() {
        var idle = IdleSchedule()
        #expect(idle.foundNothing(listening: true) == .poll(after: .milliseconds(2)))
        #expect(idle.foundNothing(listening: true) == .poll(after: .milliseconds(4)))
        #expect(idle.foundNothing(listening: true) == .poll(after: .milliseconds(8)))
        #expect(idle.foundNothing(listening: true) == .arm)
        #expect(idle.arming(.armed) == .sleep)
    }

    @Test func aSteadyLoadNeverLetsItArm() {
        var idle = IdleSchedule()
        for _ in 0..<1000 {
            #expect(idle.foundNothing(listening: true) != .arm)
            idle.claimed()
        }
    }

    @Test func anIdleEngineThatWokeToNothingArmsAgainAtOnce() {
        var idle = IdleSchedule()
        for _ in 0..<3 { _ = idle.foundNothing(listening: true) }
        #expect(idle.foundNothing(listening: true) == .arm)
        #expect(idle.arming(.armed) == .sleep)
        // The catch-up interval passed with nothing to do: no lingering again.
        #expect(idle.foundNothing(listening: true) == .arm)
    }

    @Test func changesThatBecameVisibleWhileArmingAreClaimedAtOnce() {
        var idle = IdleSchedule()
        for _ in 0..<3 { _ = idle.foundNothing(listening: true) }
        #expect(idle.foundNothing(listening: true) == .arm)
        #expect(idle.arming(.pending) == .claim)
    }

    @Test func anOpenCapturingTransactionIsPolledWithABackoffUpToTheCap() {
        var idle = IdleSchedule()
        for _ in 0..<3 { _ = idle.foundNothing(listening: true) }
        var delays: [Duration] = []
        for _ in 0..<8 {
            #expect(idle.foundNothing(listening: true) == .arm)
            guard case .poll(let delay) = idle.arming(.writersInFlight) else {
                Issue.record("expected a poll")
                return
            }
            delays.append(delay)
        }
        #expect(delays == [2, 4, 8, 16, 32, 50, 50, 50].map { .milliseconds($0) })
        // Work found: the backoff starts over.
        idle.claimed()
        for _ in 0..<3 { _ = idle.foundNothing(listening: true) }
        #expect(idle.foundNothing(listening: true) == .arm)
        #expect(idle.arming(.writersInFlight) == .poll(after: .milliseconds(2)))
    }

    @Test func withoutAListenerItNeitherLingersNorArms() {
        var idle = IdleSchedule()
        #expect(idle.foundNothing(listening: false) == .sleep)
        #expect(idle.foundNothing(listening: false) == .sleep)
    }
}
