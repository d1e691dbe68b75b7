import HTTP
import Logging
import NIOHTTP1
import Sync
import WebSocket

/// The admin HTTP API, assembled: the dashboard, health, metrics, the
/// read-only views (`StatusAPI`), read-your-writes (`WaitAPI`) and the
/// operator endpoints (`Operations`), all answered by one `AdminRouter`.
public struct AdminRoutes: HTTPResponder {
    let router: AdminRouter

    public init(statistics: SyncStatistics, adminToken: String?, webSocket: WebSocketEndpoint? = nil,
                operations: Operations? = nil, status: StatusAPI? = nil, metrics: MetricsEndpoint? = nil,
                waits: WriteWaits? = nil, logger: Logger) {
        var routes = Dashboard.routes
        routes.append(AdminRoute(.GET, "/healthz") { _ in Self.health(statistics) })
        if let metrics { routes.append(AdminRoute(.GET, "/metrics") { _ in await metrics.respond() }) }
        if let webSocket { routes.append(AdminRoute(nil, "/ws") { request in Self.webSocketRefusal(webSocket, request.http) }) }
        routes += status?.routes ?? []
        routes += operations?.routes ?? []
        routes += waits.map { WaitAPI(waits: $0).routes } ?? []
        router = AdminRouter(routes: routes, adminToken: adminToken, logger: logger)
    }

    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        await router.respond(to: request)
    }

    /// A request to /ws that was not upgraded: say why, with the status the
    /// handshake calls for (426 and Sec-WebSocket-Version for other versions).
    static func webSocketRefusal(_ endpoint: WebSocketEndpoint, _ request: HTTPRequest) -> HTTPResponse {
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
    static func health(_ statistics: SyncStatistics) -> HTTPResponse {
        .json(#"{"status":"ok","listening":\#(statistics.snapshot.listening)}"#)
    }
}
