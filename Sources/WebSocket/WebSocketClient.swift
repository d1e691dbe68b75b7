import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Opens client WebSocket connections (ws:// only): the opening handshake
/// with a fresh key, validation of Sec-WebSocket-Accept and of the
/// extension the server chose, then masked frames.
public enum WebSocketClient {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Connects and runs `body` with the open connection; closes it afterwards.
    public static func connect<T: Sendable>(
        to urlText: String,
        headers extraHeaders: HTTPHeaders = [:],
        offerDeflate: Bool = true,
        configuration: WebSocketConfiguration = .init(),
        logger: Logger,
        _ body: @escaping @Sendable (WebSocketConnection, NIOAsyncChannelInboundStream<ByteBuffer>) async throws -> T
    ) async throws -> T {
        guard let url = URLComponents(string: urlText), url.scheme == "ws", let host = url.host else {
            throw Failure(description: "expected a ws://host:port/path URL, got \(urlText)")
        }
        let port = url.port ?? 80
        var path = url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath
        if let query = url.percentEncodedQuery { path += "?" + query }
        let key = Handshake.randomKey()
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: url.port.map { "\(host):\($0)" } ?? host)
        headers.add(name: "Upgrade", value: "websocket")
        headers.add(name: "Connection", value: "Upgrade")
        headers.add(name: "Sec-WebSocket-Key", value: key)
        headers.add(name: "Sec-WebSocket-Version", value: "13")
        if offerDeflate { headers.add(name: "Sec-WebSocket-Extensions", value: DeflateParameters.clientOffer) }
        headers.add(contentsOf: extraHeaders)
        let request = ClientHandshake.request(path: path, headers: headers)

        let (channel, response) = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handshake = ClientHandshakeHandler(response: channel.eventLoop.makePromise(), timeLimit: .seconds(10))
                    try channel.pipeline.syncOperations.addHandler(handshake)
                    let async = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    return (async, handshake.response.futureResult)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(request)
            var deflate = try ClientHandshake.validate(try await response.get(), key: key)
            // We offered client_no_context_takeover: keep to it whatever the answer.
            deflate?.clientNoContextTakeover = true
            let connection = WebSocketConnection(channel: channel.channel, role: .client, deflate: deflate,
                                                 configuration: configuration, logger: logger)
            return try await body(connection, inbound)
        }
    }
}
