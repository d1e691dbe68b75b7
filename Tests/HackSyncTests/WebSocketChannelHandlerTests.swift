import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing
@testable import WebSocket

/// The server's connection in its pipeline, on a channel whose event loop
/// runs only when told and whose peer takes our writes only when told:
/// messages are delivered in order however the bytes were split, reading
/// pauses while the peer does not take what we send, and the connection
/// ends with the right close frame and one `onClose`.
@Suite struct WebSocketChannelHandlerTests {
    /// Stands for the socket: holds our writes until `takeWrites`, and counts the reads asked of it.
    final class Peer: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var held: [(ByteBuffer, EventLoopPromise<Void>?)] = []
        var reads = 0

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            held.append((unwrapOutboundIn(data), promise))
        }

        func flush(context: ChannelHandlerContext) {}

        func read(context: ChannelHandlerContext) {
            reads += 1
        }

        /// The peer reads everything we sent: the frames, parsed.
        func takeWrites() throws -> [WebSocketFrame] {
            let parser = FrameParser(role: .client, maxFrameSize: 1 << 20)
            var frames: [WebSocketFrame] = []
            for (var bytes, promise) in held {
                while let frame = try parser.parse(&bytes) { frames.append(frame) }
                promise?.succeed()
            }
            held = []
            return frames
        }
    }

    final class Delivered: Sendable {
        let messages = Mutex<[String]>([])
        let closes = Atomic<Int>(0)
        var delegate: WebSocketChannelHandler.Delegate {
            WebSocketChannelHandler.Delegate(
                onMessage: { message in
                    guard case .text(let text) = message else { return }
                    self.messages.withLock { $0.append(String(buffer: text)) }
                },
                onClose: { self.closes.add(1, ordering: .relaxed) })
        }
    }

    private func connected(highWater: Int = 1 << 20) throws -> (EmbeddedChannel, Peer, Delivered) {
        var configuration = WebSocketConfiguration()
        configuration.pingInterval = nil
        configuration.sendHighWater = highWater
        let channel = EmbeddedChannel()
        let peer = Peer()
        let delivered = Delivered()
        let connection = WebSocketConnection(channel: channel, role: .server, deflate: nil,
                                             configuration: configuration, logger: Logger(label: "test"))
        // Connected first, as an upgraded connection is when its handler is added.
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.pipeline.syncOperations.addHandler(peer)
        try channel.pipeline.syncOperations.addHandler(WebSocketChannelHandler(connection: connection, delegate: delivered.delegate))
        return (channel, peer, delivered)
    }

    /// A frame as a client sends it (masked).
    private func clientFrame(_ opcode: WebSocketFrame.Opcode, _ payload: String) -> ByteBuffer {
        FrameEncoder.encode(WebSocketFrame(opcode: opcode, payload: ByteBuffer(string: payload)), maskKey: 0x1234_5678)
    }

    @Test func messagesSplitAcrossReadsAreDeliveredInOrderAndPingsAnswered() throws {
        let (channel, peer, delivered) = try connected()
        var bytes = clientFrame(.text, "one")
        bytes.writeImmutableBuffer(clientFrame(.ping, "p"))
        bytes.writeImmutableBuffer(clientFrame(.text, "two"))
        bytes.writeImmutableBuffer(clientFrame(.text, "three"))
        // Cut at every third byte: frames end mid-read and reads end mid-frame.
        while bytes.readableBytes > 0 {
            try channel.writeInbound(bytes.readSlice(length: min(3, bytes.readableBytes))!)
        }
        channel.embeddedEventLoop.run()
        #expect(delivered.messages.withLock { $0 } == ["one", "two", "three"])
        let frames = try peer.takeWrites()
        #expect(frames.map(\.opcode) == [.pong])
        #expect(frames.first.map { String(buffer: $0.payload) } == "p")
        _ = try? channel.finish()
    }

    @Test func readingPausesWhileThePeerDoesNotTakeWhatWeSend() throws {
        let (channel, peer, _) = try connected(highWater: 200)
        channel.read()
        #expect(peer.reads == 1, "reads pass while nothing is pending")
        // Three pongs of 100 bytes each: over the high-water mark once written.
        for _ in 0..<3 { try channel.writeInbound(clientFrame(.ping, String(repeating: "x", count: 100))) }
        channel.embeddedEventLoop.run()
        channel.read()
        #expect(peer.reads == 1, "no read while 300 bytes wait for a peer that does not read")
        #expect(try peer.takeWrites().count == 3)
        channel.embeddedEventLoop.run()
        #expect(peer.reads == 2, "the read held back is made once the peer took the pongs")
        channel.read()
        #expect(peer.reads == 3)
        _ = try? channel.finish()
    }

    @Test func aProtocolErrorIsAnsweredWith1002ThenTheChannelClosesOnce() throws {
        let (channel, peer, delivered) = try connected()
        // Unmasked: clients must mask every frame.
        try channel.writeInbound(FrameEncoder.encode(WebSocketFrame(opcode: .text, payload: ByteBuffer(string: "x"))))
        try channel.writeInbound(clientFrame(.text, "after the error"))
        channel.embeddedEventLoop.run()
        let frames = try peer.takeWrites()
        #expect(frames.map(\.opcode) == [.close])
        #expect(frames.first?.payload.getInteger(at: frames.first!.payload.readerIndex, as: UInt16.self) == 1002)
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive, "closed once the close frame was taken")
        #expect(delivered.messages.withLock { $0 }.isEmpty, "nothing after the error is read")
        #expect(delivered.closes.load(ordering: .relaxed) == 1)
    }

    @Test func theCloseHandshakeFromTheClientEndsTheConnection() throws {
        let (channel, peer, delivered) = try connected()
        try channel.writeInbound(FrameEncoder.encode(
            WebSocketFrame(opcode: .close, payload: FrameEncoder.closePayload(.normal, reason: "")), maskKey: 7))
        channel.embeddedEventLoop.run()
        #expect(try peer.takeWrites().map(\.opcode) == [.close])
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
        #expect(delivered.closes.load(ordering: .relaxed) == 1)
    }

    @Test func aConnectionGoneBeforeItsHandlerWasAddedIsClosedOnce() throws {
        let channel = EmbeddedChannel()  // never connected: inactive, as after a peer left mid-upgrade
        let delivered = Delivered()
        let connection = WebSocketConnection(channel: channel, role: .server, deflate: nil,
                                             configuration: WebSocketConfiguration(), logger: Logger(label: "test"))
        try channel.pipeline.syncOperations.addHandler(WebSocketChannelHandler(connection: connection, delegate: delivered.delegate))
        #expect(delivered.closes.load(ordering: .relaxed) == 1, "the hub forgets the subscriber")
        #expect(connection.closeCode == .abnormal)
        _ = try? channel.finish()
        #expect(delivered.closes.load(ordering: .relaxed) == 1)
    }
}
