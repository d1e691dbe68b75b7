import Logging
import Model
import NIOCore
import NIOHTTP1
import WebSocket

/// Where and how the HTTP server accepts WebSocket upgrades.
public struct WebSocketEndpoint: Sendable {
    /// The only path upgraded (`/ws`); `nil` upgrades any path (the echo server).
    public var path: String?
    /// Browser origins allowed to connect; empty allows any (CLI clients send none).
    public var allowedOrigins: [String] = []
    public var enableDeflate = true
    public var configuration = WebSocketConfiguration()
    /// Called on the event loop as a connection is upgraded: what to do
    /// with its messages and its end. No task serves the connection.
    public var handler: @Sendable (WebSocketConnection, HTTPRequestHead) -> WebSocketChannelHandler.Delegate

    public init(path: String?, handler: @escaping @Sendable (WebSocketConnection, HTTPRequestHead) -> WebSocketChannelHandler.Delegate) {
        self.path = path
        self.handler = handler
    }

    /// The handshake's verdict for a request, path included.
    public func accept(_ head: HTTPRequestHead) -> Result<Handshake.Accepted, Handshake.Rejection> {
        if let path, head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) != path {
            return .failure(Handshake.Rejection(status: .notFound, message: "no WebSocket endpoint at \(head.uri)", headers: [:]))
        }
        return Handshake.accept(head, allowedOrigins: allowedOrigins, enableDeflate: enableDeflate)
    }
}

/// What a new connection turned into after its first request.
enum ConnectionKind: Sendable {
    case http(NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>)
    /// Served by its `WebSocketChannelHandler`: nothing left to run.
    case webSocket
}

/// Plugs our RFC 6455 handshake into NIO's HTTP upgrade machinery. A request
/// the handshake refuses gets its refusal (400, 403, 404, 426 with
/// Sec-WebSocket-Version) written here and the connection closed: NIO does
/// not hand a declined upgrade request on to the HTTP routes.
struct WebSocketUpgrader: NIOTypedHTTPServerProtocolUpgrader {
    typealias UpgradeResult = ConnectionKind
    let supportedProtocol = "websocket"
    let requiredUpgradeHeaders: [String] = []
    let endpoint: WebSocketEndpoint
    let open: OpenWebSockets
    /// False past the server's connection limit: the upgrade completes and
    /// the connection is closed at once with 1013 (try again later).
    let admitted: Bool
    let logger: Logger

    struct Declined: Error {}

    func buildUpgradeResponse(channel: Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        let accepted: Handshake.Accepted
        switch endpoint.accept(upgradeRequest) {
        case .success(let value):
            accepted = value
        case .failure(let rejection):
            let (head, body) = HTTPResponse.refusal(rejection.status, rejection.message, headers: rejection.headers)
            channel.write(HTTPServerResponsePart.head(head), promise: nil)
            channel.write(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil)
            channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
            return channel.eventLoop.makeFailedFuture(Declined())
        }
        // Committed: from here on the bytes are frames, not HTTP. The guard
        // goes now, before NIO removes its parser and passes on what it had
        // not parsed (a frame sent right behind the request) as raw bytes.
        if let context = try? channel.pipeline.syncOperations.context(name: RequestGuard.name) {
            channel.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        var headers = initialResponseHeaders
        for (name, value) in accepted.headers where name.lowercased() != "upgrade" && name.lowercased() != "connection" {
            headers.add(name: name, value: value)
        }
        return channel.eventLoop.makeSucceededFuture(headers)
    }

    func upgrade(channel: Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<ConnectionKind> {
        channel.eventLoop.makeCompletedFuture {
            guard case .success(let accepted) = endpoint.accept(upgradeRequest) else { throw Declined() }
            let operations = channel.pipeline.syncOperations
            let connection = WebSocketConnection(channel: channel, role: .server, deflate: accepted.deflate,
                                                 configuration: endpoint.configuration, logger: logger)
            guard admitted else {
                try operations.addHandler(WebSocketChannelHandler(connection: connection, delegate: .init(onMessage: { _ in })))
                connection.startClose(.tryAgainLater, reason: "server at its connection limit; retry later")
                return .webSocket
            }
            var delegate = endpoint.handler(connection, upgradeRequest)
            let id = open.add(connection)
            let onClose = delegate.onClose
            delegate.onClose = { [open] in
                open.remove(id)
                onClose()
            }
            do {
                try channel.pipeline.syncOperations.addHandler(WebSocketChannelHandler(connection: connection, delegate: delegate))
            } catch {
                // The pipeline is gone with the peer: forget the connection now.
                connection.ended()
                delegate.onClose()
                throw error
            }
            return .webSocket
        }
    }
}
