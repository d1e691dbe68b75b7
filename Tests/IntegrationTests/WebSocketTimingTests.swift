import HTTP
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import WebSocket

/// The state machine's timing carried out over real sockets: our server
/// against a raw TCP peer that completes the handshake and then says
/// nothing. Timers are short; every wait is bounded.
@Suite struct WebSocketTimingTests {
    struct NotFound: HTTPResponder {
        func respond(to request: HTTPRequest) async -> HTTPResponse { .error(.notFound, "WebSocket only") }
    }

    /// Starts a server whose connections ping every 50 ms, give up on a peer
    /// silent for 200 ms and wait 300 ms for the answer to their close; runs
    /// `body` with its port.
    func withServer(closeFromServer: Bool = false, _ body: (Int) async throws -> Void) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        var configuration = WebSocketConfiguration()
        configuration.pingInterval = .milliseconds(50)
        configuration.idleTimeout = .milliseconds(200)
        configuration.closeTimeout = .milliseconds(300)
        var endpoint = WebSocketEndpoint(path: nil) { connection, _ in
            if closeFromServer {
                connection.startClose(.goingAway, reason: "bye")
            }
            return WebSocketChannelHandler.Delegate(onMessage: { _ in })
        }
        endpoint.configuration = configuration
        let bound = AsyncStream<Int>.makeStream()
        var server = HTTPServer(host: "127.0.0.1", port: 0, responder: NotFound(), logger: logger) { bound.continuation.yield($0) }
        server.webSocket = endpoint
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [server] in try await server.run() }
            var ports = bound.stream.makeAsyncIterator()
            let port = try #require(await ports.next())
            try await body(port)
            group.cancelAll()
        }
    }

    /// A peer that upgrades and then only listens: what the server sent, and
    /// when the server closed the TCP connection.
    final class SilentPeer: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received = Mutex(ByteBuffer())
        let closedAt = Mutex<ContinuousClock.Instant?>(nil)

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(NIOAny(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")), promise: nil)
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            received.withLock { _ = $0.writeBuffer(&bytes) }
        }
        func channelInactive(context: ChannelHandlerContext) {
            closedAt.withLock { $0 = .now }
        }

        /// The frames after the 101 response, as (opcode, payload).
        var frames: [(UInt8, [UInt8])] {
            var buffer = received.withLock { $0 }
            let text = String(buffer: buffer)
            guard let end = text.range(of: "\r\n\r\n") else { return [] }
            buffer.moveReaderIndex(forwardBy: text[..<end.upperBound].utf8.count)
            var out: [(UInt8, [UInt8])] = []
            while let header = buffer.readBytes(length: 2) {
                let length = Int(header[1] & 0x7F)  // control frames: short, unmasked from a server
                guard let payload = buffer.readBytes(length: length) else { break }
                out.append((header[0] & 0x0F, payload))
            }
            return out
        }
    }

    func connect(_ port: Int) async throws -> (SilentPeer, any Channel) {
        let peer = SilentPeer()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { $0.pipeline.addHandler(peer) }
            .connect(host: "127.0.0.1", port: port).get()
        return (peer, channel)
    }

    @Test func aSilentPeerIsPingedThenClosedWith1001ThenDisconnected() async throws {
        try await withServer { port in
            let (peer, channel) = try await connect(port)
            defer { channel.close(promise: nil) }
            try await eventually(timeout: .seconds(5), interval: .milliseconds(10), "the server to hang up") {
                peer.closedAt.withLock { $0 } == nil ? "still connected" : nil
            }
            let frames = peer.frames
            let pings = frames.filter { $0.0 == 0x9 }.count
            let close = frames.first { $0.0 == 0x8 }
            #expect(pings >= 2, "pings every 50 ms for 200 ms: \(frames.map(\.0))")
            #expect(close.map { Array($0.1.prefix(2)) } == [0x03, 0xE9], "close 1001")
            #expect(frames.last?.0 == 0x8, "nothing after the close frame")
            #expect(peer.closedAt.withLock { $0 } != nil, "the server hung up after its close went unanswered")
        }
    }

    @Test func anUnansweredCloseFromTheServerEndsTheConnectionAfterTheCloseTimeout() async throws {
        try await withServer(closeFromServer: true) { port in
            let (peer, channel) = try await connect(port)
            defer { channel.close(promise: nil) }
            let start = ContinuousClock.now
            try await eventually(timeout: .seconds(5), interval: .milliseconds(10), "the server to hang up") {
                peer.closedAt.withLock { $0 } == nil ? "still connected" : nil
            }
            let closedAt = try #require(peer.closedAt.withLock { $0 })
            #expect(peer.frames.first?.0 == 0x8)
            // The close timeout is 300 ms; the ping schedule (50 ms) must not be what ends it.
            #expect(closedAt - start >= .milliseconds(250))
        }
    }

    /// No task serves a connection, so none is cancelled at shutdown: the
    /// server closes every open connection itself, with 1001.
    @Test func shuttingDownClosesOpenConnectionsWith1001() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let bound = AsyncStream<Int>.makeStream()
        var server = HTTPServer(host: "127.0.0.1", port: 0, responder: NotFound(), logger: logger) { bound.continuation.yield($0) }
        server.webSocket = WebSocketEndpoint(path: nil) { connection, _ in
            WebSocketChannelHandler.Delegate(onMessage: { connection.enqueue($0) })
        }
        let running = Task { [server] in try await server.run() }
        var ports = bound.stream.makeAsyncIterator()
        let port = try #require(await ports.next())
        let echoed = AsyncStream<Void>.makeStream()
        let client = Task {
            try await WebSocketClient.connect(to: "ws://127.0.0.1:\(port)/", logger: logger) { connection, inbound in
                try await connection.send(text: ByteBuffer(string: "hello"))
                await connection.run(inbound: inbound) { _ in echoed.continuation.yield() }
                return connection.closeCode
            }
        }
        // The echo came back: the server holds the connection.
        var echoes = echoed.stream.makeAsyncIterator()
        _ = await echoes.next()
        running.cancel()
        #expect(try await client.value == .goingAway)
        _ = try? await running.value
    }
}
