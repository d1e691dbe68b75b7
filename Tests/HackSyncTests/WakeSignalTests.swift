import AsyncWakeup
import Sync
import Testing

@Suite struct WakeSignalTests {
    @Test func aSignalBeforeWaitingIsNotLost() async {
        let wake = WakeSignal()
        wake.signal()
        let clock = ContinuousClock()
        let elapsed = await clock.measure { await wake.wait(timeout: .seconds(30)) }
        #expect(elapsed < .seconds(10))
    }

    @Test func manySignalsCollapseIntoOneWake() async {
        let wake = WakeSignal()
        for _ in 0..<100 { wake.signal() }
        await wake.wait(timeout: .seconds(30))
        let clock = ContinuousClock()
        let elapsed = await clock.measure { await wake.wait(timeout: .milliseconds(200)) }
        #expect(elapsed >= .milliseconds(150))
    }

    @Test func aWaiterWakesOnSignal() async {
        let wake = WakeSignal()
        let clock = ContinuousClock()
        async let waited: Duration = clock.measure { await wake.wait(timeout: .seconds(30)) }
        try? await Task.sleep(for: .milliseconds(50))
        wake.signal()
        #expect(await waited < .seconds(10))
    }

    @Test func aWakeupWithoutDeadlineWaitsForItsSignal() async {
        let wakeup = Wakeup()
        let clock = ContinuousClock()
        async let waited: Duration = clock.measure { await wakeup.wait(until: nil) }
        try? await Task.sleep(for: .milliseconds(50))
        wakeup.signal()
        #expect(await waited < .seconds(10))
    }

    @Test func aCancelledWaitReturnsAndKeepsNoWaiter() async {
        let wakeup = Wakeup()
        let waiter = Task { await wakeup.wait(until: nil) }
        try? await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await waiter.value
        // The signal after the cancelled wait is pending for the next one.
        wakeup.signal()
        let clock = ContinuousClock()
        #expect(await clock.measure { await wakeup.wait(timeout: .seconds(30)) } < .seconds(10))
    }
}
