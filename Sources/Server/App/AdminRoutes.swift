import HTTP
import Logging
import NIOCore
import NIOHTTP1
import Search
import Sync
import WebSocket

/// The admin HTTP API: health, the read-only views (`StatusAPI`) and the
/// operator endpoints (`Operations`).
public struct AdminRoutes: HTTPResponder {
    let statistics: SyncStatistics
    let webSocket: WebSocketEndpoint?
    let operations: Operations?
    let status: StatusAPI?
    let metrics: MetricsEndpoint?
    let logger: Logger

    public init(statistics: SyncStatistics, webSocket: WebSocketEndpoint? = nil,
                operations: Operations? = nil, status: StatusAPI? = nil, metrics: MetricsEndpoint? = nil, logger: Logger) {
        self.statistics = statistics
        self.webSocket = webSocket
        self.operations = operations
        self.status = status
        self.metrics = metrics
        self.logger = logger
    }

    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        if let status, let response = await status.respond(to: request) { return response }
        if let operations, let response = await operations.respond(to: request) { return response }
        switch (request.method, request.path) {
        case (.GET, "/"), (.HEAD, "/"), (.GET, "/dashboard"), (.GET, "/dashboard.css"), (.GET, "/dashboard.js"):
            return Dashboard.response(for: request.path) ?? .error(.notFound, "no route for \(request.method) \(request.path)")
        case (.GET, "/healthz"), (.HEAD, "/healthz"):
            return health()
        case (.GET, "/metrics"):
            return await metrics?.respond() ?? .error(.notFound, "metrics are not enabled")
        case (_, "/ws"):
            return webSocketRefusal(request)
        default:
            return .error(.notFound, "no route for \(request.method) \(request.path)")
        }
    }

    /// A request to /ws that was not upgraded: say why, with the status the
    /// handshake calls for (426 and Sec-WebSocket-Version for other versions).
    func webSocketRefusal(_ request: HTTPRequest) -> HTTPResponse {
        guard let endpoint = webSocket else { return .error(.notFound, "WebSocket is not enabled") }
        let head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.uri, headers: request.headers)
        guard case .failure(let rejection) = endpoint.accept(head) else {
            return .error(.badRequest, "WebSocket upgrade failed")
        }
        var response = HTTPResponse.error(rejection.status, rejection.message)
        for (name, value) in rejection.headers { response.headers.add(name: name, value: value) }
        return response
    }

    /// Liveness: the process answers. Cheap on purpose (no call to Postgres
    /// or Elasticsearch: under load a search-server ping took up to 0.5 s);
    /// whether it can sync is `/readyz`.
    func health() -> HTTPResponse {
        .json(#"{"status":"ok","listening":\#(statistics.snapshot.listening)}"#)
    }
}
