import NIOCore
import Testing
@testable import WebSocket

/// The decisions behind a connection's writes: the budget that finds a
/// subscriber who is not reading, one pass per burst, nothing after close.
@Suite struct OutboundLedgerTests {
    private func frame(_ bytes: Int) -> ByteBuffer { ByteBuffer(repeating: 0x61, count: bytes) }

    @Test func aBurstIsWrittenByOnePass() {
        var ledger = OutboundLedger(maxMessages: 10, maxBytes: 1000)
        #expect(ledger.offer(frame(10), bounded: true) == .queued(schedulePass: true))
        #expect(ledger.offer(frame(10), bounded: true) == .queued(schedulePass: false))
        #expect(ledger.offer(frame(10), bounded: true) == .queued(schedulePass: false))
        let pass = ledger.takeForPass()
        #expect(pass.frames.count == 3 && pass.bytes == 30)
        // The next frame needs a pass of its own.
        #expect(ledger.offer(frame(10), bounded: true) == .queued(schedulePass: true))
    }

    @Test func framesCountUntilTheSocketTookThem() {
        var ledger = OutboundLedger(maxMessages: 3, maxBytes: 1000)
        for _ in 0..<3 { _ = ledger.offer(frame(10), bounded: true) }
        let pass = ledger.takeForPass()
        // Handed to the channel but not written: still pending.
        #expect(ledger.pendingMessages == 3 && ledger.pendingBytes == 30)
        #expect(ledger.offer(frame(10), bounded: true) == .overBudget)
        ledger.written(messages: pass.frames.count, bytes: pass.bytes)
        #expect(ledger.pendingMessages == 0 && ledger.pendingBytes == 0)
        #expect(ledger.offer(frame(10), bounded: true) == .queued(schedulePass: true))
    }

    @Test func theByteLimitRefusesWhatTheMessageLimitWouldTake() {
        var ledger = OutboundLedger(maxMessages: 100, maxBytes: 100)
        #expect(ledger.offer(frame(60), bounded: true) == .queued(schedulePass: true))
        #expect(ledger.offer(frame(60), bounded: true) == .overBudget)
        #expect(ledger.offer(frame(40), bounded: true) == .queued(schedulePass: false))
        #expect(ledger.pendingBytes == 100)
    }

    @Test func aSenderThatWaitsIsNotRefusedByTheBudget() {
        var ledger = OutboundLedger(maxMessages: 1, maxBytes: 10)
        _ = ledger.offer(frame(10), bounded: true)
        #expect(ledger.offer(frame(500), bounded: false) == .queued(schedulePass: false))
        #expect(ledger.pendingBytes == 510)
    }

    @Test func nothingIsQueuedAfterTheCloseFrame() {
        var ledger = OutboundLedger(maxMessages: 10, maxBytes: 1000)
        _ = ledger.offer(frame(10), bounded: true)
        #expect(ledger.offer(frame(4), bounded: false, closes: true) == .queued(schedulePass: false))
        #expect(ledger.offer(frame(10), bounded: true) == .closed)
        #expect(ledger.offer(frame(2), bounded: false) == .closed)
        // The close frame is the last one written.
        let pass = ledger.takeForPass()
        #expect(pass.frames.map(\.readableBytes) == [10, 4])
    }
}
