import NIOCore
import NIOEmbedded
import Synchronization
import Testing
@testable import Realtime
@testable import WebSocket

/// The hub's fan-out figure is taken once every loop wrote what the
/// publish queued on it: the marker runs after the write passes, however
/// many connections share a loop, and once per publish.
@Suite struct FanOutTimingTests {
    @Test func theFigureIsTakenAfterEveryQueuedFrameWasWrittenOncePerPublish() throws {
        let first = EmbeddedChannel(), second = EmbeddedChannel()
        let loop = first.embeddedEventLoop
        // Two connections on one loop (the hub's case: many connections per loop).
        let secondOnSameLoop = EmbeddedChannel(handlers: [], loop: loop)
        let frames = [first, secondOnSameLoop].map { OutboundFrames(channel: $0, maxMessages: 10, maxBytes: 1000, highWater: 1000) }
        let otherLoopFrames = OutboundFrames(channel: second, maxMessages: 10, maxBytes: 1000, highWater: 1000)
        for outbound in frames + [otherLoopFrames] { _ = outbound.offer(ByteBuffer(string: "event")) }
        var writers = FanOutTiming.Loops()
        writers.insert(loop)
        writers.insert(loop)
        writers.insert(second.embeddedEventLoop)
        #expect(writers.loops.count == 2)
        let reports = Mutex<[Bool]>([])
        FanOutTiming.record(since: .now, whenPassesRanOn: writers) { _ in
            // Was everything written when the figure was taken?
            let written = (try? [first, secondOnSameLoop, second].allSatisfy { try $0.readOutbound(as: ByteBuffer.self) != nil }) ?? false
            reports.withLock { $0.append(written) }
        }
        second.embeddedEventLoop.run()
        #expect(reports.withLock { $0 }.isEmpty, "one loop has not run yet")
        // The shared loop runs its two write passes, then the marker: the last one reports.
        loop.run()
        #expect(reports.withLock { $0 } == [true])
        for channel in [first, secondOnSameLoop, second] { _ = try? channel.finish() }
    }
}
