import Logging
import NIOHTTP1
import Search
import Sync

/// The admin HTTP API. For now: health.
public struct AdminRoutes: HTTPResponder {
    let statistics: SyncStatistics
    let elasticsearch: ElasticsearchClient
    let logger: Logger

    public init(statistics: SyncStatistics, elasticsearch: ElasticsearchClient, logger: Logger) {
        self.statistics = statistics
        self.elasticsearch = elasticsearch
        self.logger = logger
    }

    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        switch (request.method, request.path) {
        case (.GET, "/healthz"), (.HEAD, "/healthz"):
            return await health()
        default:
            return .error(.notFound, "no route for \(request.method) \(request.path)")
        }
    }

    /// 200 once the listener is LISTENing and Elasticsearch answers; 503 with
    /// the reasons otherwise.
    func health() async -> HTTPResponse {
        var problems: [String] = []
        if !statistics.snapshot.listening { problems.append("not listening to Postgres") }
        do {
            _ = try await elasticsearch.ping()
        } catch {
            problems.append("Elasticsearch unreachable: \(error)")
        }
        if problems.isEmpty { return .json(#"{"status":"ok"}"#) }
        let reasons = problems.map(jsonString).joined(separator: ",")
        return .json(#"{"status":"unavailable","problems":[\#(reasons)]}"#, status: .serviceUnavailable)
    }
}
