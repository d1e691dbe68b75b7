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

    /// An open client connection and its inbound byte stream.
    public struct Connected: Sendable {
        public var channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        public var deflate: DeflateParameters?
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
        headers.add(name: "Sec-WebSocket-Key", value: key)
        headers.add(name: "Sec-WebSocket-Version", value: "13")
        if offerDeflate { headers.add(name: "Sec-WebSocket-Extensions", value: DeflateParameters.clientOffer) }
        headers.add(contentsOf: extraHeaders)
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)

        let upgrade = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrade = NIOTypedHTTPClientUpgradeConfiguration<Connected>(
                        upgradeRequestHead: head, upgraders: [ClientUpgrader(key: key)]
                    ) { channel in
                        channel.eventLoop.makeFailedFuture(Failure(description: "the server did not upgrade to WebSocket"))
                    }
                    var configuration = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgrade)
                    // Frames may arrive in the same read as the 101 response: keep them.
                    configuration.leftOverBytesStrategy = .forwardBytes
                    return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: configuration)
                }
            }
        let connected = try await upgrade.get()
        return try await connected.channel.executeThenClose { inbound, outbound in
            let connection = WebSocketConnection(outbound: outbound, role: .client, deflate: connected.deflate,
                                                 configuration: configuration, logger: logger)
            return try await body(connection, inbound)
        }
    }

    struct ClientUpgrader: NIOTypedHTTPClientProtocolUpgrader {
        typealias UpgradeResult = Connected
        let supportedProtocol = "websocket"
        let requiredUpgradeHeaders: [String] = []
        let key: String

        func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {}

        func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool {
            guard upgradeResponse.status == .switchingProtocols,
                  upgradeResponse.headers["Sec-WebSocket-Accept"].first == Handshake.acceptValue(forKey: key)
            else { return false }
            return deflate(upgradeResponse) != nil
        }

        /// The agreed deflate parameters: `.some(nil)` for none, nil for an invalid answer.
        func deflate(_ response: HTTPResponseHead) -> DeflateParameters?? {
            let header = response.headers["Sec-WebSocket-Extensions"].joined(separator: ",")
            return DeflateParameters.parseResponse(header)
        }

        func upgrade(channel: Channel, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<Connected> {
            channel.eventLoop.makeCompletedFuture {
                let async = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                var agreed = deflate(upgradeResponse) ?? nil
                // We offered client_no_context_takeover: keep to it whatever the answer.
                agreed?.clientNoContextTakeover = true
                return Connected(channel: async, deflate: agreed)
            }
        }
    }
}
