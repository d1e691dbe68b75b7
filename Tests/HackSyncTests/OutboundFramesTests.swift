import NIOCore
import NIOEmbedded
import Testing
@testable import WebSocket

/// `OutboundFrames` on a channel whose event loop runs only when told: what
/// is queued waits for the loop's pass, goes out in order with one flush,
/// and counts against the budget until the channel has written it.
@Suite struct OutboundFramesTests {
    private func frame(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    private func written(_ channel: EmbeddedChannel) throws -> [String] {
        var texts: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            texts.append(String(buffer: buffer))
        }
        return texts
    }

    @Test func framesQueuedFromAnyThreadGoOutInOrderInOnePass() throws {
        let channel = EmbeddedChannel()
        let loop = channel.embeddedEventLoop
        let frames = OutboundFrames(channel: channel, maxMessages: 10, maxBytes: 1000, highWater: 1000)
        #expect(frames.offer(frame("a")) == .queued(schedulePass: true))
        #expect(frames.offer(frame("b")) == .queued(schedulePass: false))
        #expect(frames.post(frame("c")))
        #expect(try written(channel).isEmpty, "nothing is written before the loop's pass")
        loop.run()
        #expect(try written(channel) == ["a", "b", "c"])
        #expect(frames.drained == nil, "everything written: nothing to wait for")
        _ = try channel.finish()
    }

    @Test func theBudgetIsFreedWhenTheChannelHasWrittenTheFrames() throws {
        let channel = EmbeddedChannel()
        let loop = channel.embeddedEventLoop
        let frames = OutboundFrames(channel: channel, maxMessages: 2, maxBytes: 1000, highWater: 1000)
        #expect(frames.offer(frame("1")) != .overBudget)
        #expect(frames.offer(frame("2")) != .overBudget)
        #expect(frames.offer(frame("3")) == .overBudget, "a subscriber two frames behind is over a budget of two")
        loop.run()
        #expect(try written(channel) == ["1", "2"])
        #expect(frames.offer(frame("4")) == .queued(schedulePass: true))
        loop.run()
        #expect(try written(channel) == ["4"])
        _ = try channel.finish()
    }

    @Test func theCloseFrameIsTheLastOneWritten() throws {
        let channel = EmbeddedChannel()
        let loop = channel.embeddedEventLoop
        let frames = OutboundFrames(channel: channel, maxMessages: 10, maxBytes: 1000, highWater: 1000)
        _ = frames.offer(frame("event"))
        #expect(frames.post(frame("close"), closes: true))
        #expect(frames.offer(frame("late")) == .closed)
        #expect(!frames.post(frame("ping")))
        loop.run()
        #expect(try written(channel) == ["event", "close"])
        _ = try channel.finish()
    }

    @Test func framesOnAClosedChannelFreeTheirBudget() throws {
        let channel = EmbeddedChannel()
        let loop = channel.embeddedEventLoop
        let frames = OutboundFrames(channel: channel, maxMessages: 1, maxBytes: 1000, highWater: 1000)
        _ = frames.offer(frame("x"))
        try channel.close().wait()
        loop.run()
        // The write failed with the channel; the frame no longer counts.
        #expect(frames.drained == nil)
        #expect(frames.offer(frame("y")) == .queued(schedulePass: true))
        loop.run()
    }
}
