import AsyncHTTPClient
import NIOCore

extension ElasticsearchClient {
    /// The process's HTTP client for Elasticsearch. Unlike `HTTPClient.shared`
    /// it does not keep retrying a refused connection until the request's
    /// deadline: with the cluster down every bulk request would otherwise hang
    /// for the whole timeout (30 s) before failing, the circuit breaker would
    /// need minutes to open, and SIGTERM would wait for it. Requests fail at
    /// once; the sync engine's backoff and breaker do the retrying.
    public static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()
}
