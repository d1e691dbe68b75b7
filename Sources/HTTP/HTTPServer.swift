import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import WebSocket

/// A small HTTP/1.1 server on SwiftNIO's async channels, for the admin API.
/// Requests are read whole and passed to the responder; keep-alive is
/// honoured. `limits` bounds connections, sizes and times (`RequestGuard`
/// answers what exceeds them before the responder sees it).
public struct HTTPServer: Service {
    public var host: String
    public var port: Int
    public var responder: any HTTPResponder
    public var limits = HTTPLimits()
    public var logger: Logger
    /// Called with the bound port (useful with port 0).
    public var onBound: @Sendable (Int) -> Void
    /// Accepts WebSocket upgrades when set.
    public var webSocket: WebSocketEndpoint?

    public init(host: String, port: Int, responder: any HTTPResponder, logger: Logger, onBound: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.host = host
        self.port = port
        self.responder = responder
        self.logger = logger
        self.onBound = onBound
    }

    public func run() async throws {
        let openWebSockets = OpenWebSockets()
        let connections = ConnectionCount()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // NIO keeps each connection's receive buffer for its next read:
            // start it small, as idle WebSocket subscribers send little (it
            // grows when reads fill it).
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536))
            .bind(host: host, port: port) { [webSocket, limits, logger] channel in
                channel.eventLoop.makeCompletedFuture {
                    let admitted = connections.opened(limit: limits.maxConnections)
                    channel.closeFuture.whenComplete { _ in connections.closed() }
                    let upgraders: [any NIOTypedHTTPServerProtocolUpgrader<ConnectionKind>] =
                        webSocket.map { [WebSocketUpgrader(endpoint: $0, open: openWebSockets, admitted: admitted, logger: logger)] } ?? []
                    var configuration = NIOUpgradableHTTPServerPipelineConfiguration(
                        upgradeConfiguration: .init(upgraders: upgraders) { channel in
                            channel.eventLoop.makeCompletedFuture {
                                .http(try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel))
                            }
                        })
                    // The guard answers malformed and oversized requests (NIO's handler would send a bare 400).
                    configuration.enableErrorHandling = false
                    configuration.decoderConfiguration = limits.decoderConfiguration
                    let kind = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
                    let operations = channel.pipeline.syncOperations
                    try operations.addHandler(
                        RequestGuard(limits: limits, acceptsWebSocket: webSocket != nil, admitted: admitted),
                        name: RequestGuard.name,
                        position: .before(try operations.handler(type: NIOTypedHTTPServerUpgradeHandler<ConnectionKind>.self)))
                    return kind
                }
            }
        let boundPort = server.channel.localAddress?.port ?? port
        logger.notice("HTTP server listening", metadata: ["http.address": "\(host):\(boundPort)"])
        onBound(boundPort)
        var failure: (any Error)?
        do {
            try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { inbound in
                    for try await kind in inbound {
                        group.addTask {
                            switch try? await kind.get() {
                            case .http(let connection)?: await self.serve(connection)
                            case .webSocket?: break  // served on its event loop
                            case nil: break  // closed before its first request
                            }
                        }
                    }
                }
            }
            }
        } catch is CancellationError {
            // Graceful shutdown: the listening socket is closed; not an error.
        } catch {
            failure = error
        }
        // No task serves a WebSocket: close them whichever way the server stops.
        if let webSocket, openWebSockets.count > 0 {
            await openWebSockets.closeAll(.goingAway, reason: "server shutting down",
                                          limit: webSocket.configuration.closeTimeout + .seconds(1))
        }
        if let failure { throw failure }
        logger.info("HTTP server stopped")
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                // Sizes and times are the guard's: what arrives here is within the limits.
                var head: HTTPRequestHead?
                var body = ByteBuffer()
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        head = h
                        body.clear()
                    case .body(var chunk):
                        body.writeBuffer(&chunk)
                    case .end:
                        guard let h = head else { continue }
                        let started = ContinuousClock.now
                        let request = HTTPRequest(method: h.method, uri: h.uri, headers: h.headers, body: body)
                        var response = await responder.respond(to: request)
                        response.headers.replaceOrAdd(name: "X-Request-Id", value: request.id)
                        let keepAlive = h.isKeepAlive
                        // Logged before the write: a client that closes as soon as it has the
                        // body can make the final write throw, and the line must not depend on it.
                        logAccess(request, response.status, since: started)
                        try await write(response, for: h, keepAlive: keepAlive, to: outbound)
                        if !keepAlive { return }
                        head = nil
                    }
                }
            }
        } catch {
            logger.debug("HTTP connection ended with an error", metadata: ["error": "\(error)"])
        }
    }

    /// Mutating requests and server errors at info/warning (an operator's
    /// actions belong in the log); reads, which dashboards poll, at debug.
    private func logAccess(_ request: HTTPRequest, _ status: HTTPResponseStatus, since started: ContinuousClock.Instant) {
        let level: Logger.Level = status.code >= 500 ? .warning
            : (request.method == .GET || request.method == .HEAD) ? .debug : .info
        guard logger.logLevel <= level else { return }
        logger.log(level: level, "HTTP request", metadata: [
            "request_id": "\(request.id)", "http.method": "\(request.method)", "http.path": "\(request.path)",
            "http.status": "\(status.code)",
            "duration_ms": "\(String(format: "%.2f", (ContinuousClock.now - started) / .milliseconds(1)))",
        ])
    }

    private func write(_ response: HTTPResponse, for request: HTTPRequestHead, keepAlive: Bool,
                       to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.readableBytes))
        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        try await outbound.write(.head(head))
        if request.method != .HEAD && response.body.readableBytes > 0 {
            try await outbound.write(.body(.byteBuffer(response.body)))
        }
        try await outbound.write(.end(nil))
    }
}
