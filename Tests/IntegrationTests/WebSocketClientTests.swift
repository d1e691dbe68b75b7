import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import WebSocket

/// Our client stack against a raw server socket that answers the upgrade,
/// a text message and a close in one write and then ends the connection:
/// what the Autobahn fuzzing server's `getCaseCount` does. The data and the
/// end of the stream arrive in one read; NIO's client upgrader lost the
/// message about three times in four that way.
@Suite struct WebSocketClientTests {
    @Test func framesThatArriveWithTheHandshakeAndTheEndOfTheStreamAreDelivered() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(AnswerAndHangUp()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let port = try #require(server.localAddress?.port)
        var logger = Logger(label: "test")
        logger.logLevel = .warning

        var delivered = 0
        for _ in 0..<200 {
            let (text, code) = try await WebSocketClient.connect(to: "ws://127.0.0.1:\(port)/getCaseCount", logger: logger) { connection, inbound in
                let received = Mutex<String?>(nil)
                await connection.run(inbound: inbound) { message in
                    if case .text(let text) = message { received.withLock { $0 = String(buffer: text) } }
                }
                return (received.withLock { $0 }, connection.closeCode)
            }
            if text == "517", code == .normal { delivered += 1 }
        }
        #expect(delivered == 200)
    }

    /// Reads the request head, answers 101 + text "517" + close 1000 in one
    /// write, and closes the socket.
    final class AnswerAndHangUp: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var request = ""

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            request += String(buffer: unwrapInboundIn(data))
            guard request.contains("\r\n\r\n") else { return }
            // RFC 6455 §4.1: the request must ask for the upgrade, or servers answer 400.
            let lower = request.lowercased()
            guard lower.hasPrefix("get /getcasecount http/1.1\r\n"), lower.contains("\r\nupgrade: websocket\r\n"),
                  lower.contains("\r\nconnection: upgrade\r\n"), lower.contains("\r\nsec-websocket-version: 13\r\n") else {
                context.writeAndFlush(NIOAny(ByteBuffer(string: "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")), promise: nil)
                return
            }
            let key = request.split(separator: "\r\n")
                .first { $0.lowercased().hasPrefix("sec-websocket-key:") }
                .map { $0.dropFirst("sec-websocket-key:".count).trimmingCharacters(in: .whitespaces) } ?? ""
            var answer = ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: \(Handshake.acceptValue(forKey: key))\r\n\r\n")
            answer.writeBytes([0x81, 0x03] + Array("517".utf8) + [0x88, 0x02, 0x03, 0xE8])
            let channel = context.channel
            context.writeAndFlush(NIOAny(answer)).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
