import AsyncHTTPClient
import Logging
import Search
import ServiceLifecycle
import Sync

/// Wires the parts of `hacksync serve` together: the LISTEN connection, the
/// sync engine and the admin HTTP server, run as one service group so that
/// SIGTERM stops them in order (HTTP first, then listener, then the engine
/// finishes the batch in flight).
public struct HackSyncService {
    public let configuration: HackSyncConfiguration
    public let statistics = SyncStatistics()
    public let wake = WakeSignal()
    let logger: Logger

    public init(configuration: HackSyncConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until SIGTERM/SIGINT (or until cancelled).
    public func run(onHTTPBound: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let esURL = try ElasticsearchURL(configuration.elasticsearchURL)
        let client = ElasticsearchClient(url: esURL, http: HTTPClient.shared, logger: logger)
        let indexes = SearchIndexes(client: client, prefix: configuration.indexPrefix, logger: logger)
        logger.notice("starting hacksync", metadata: [
            "pg.url": "\(redactedDatabaseURL(configuration.databaseURL))",
            "es.url": "\(esURL)",
        ])
        let store = PostgresChangeStore(databaseURL: configuration.databaseURL, logger: logger)
        let engine = SyncEngine(
            store: store,
            index: ElasticsearchDocumentIndex(client: client, indexes: indexes, logger: logger),
            wake: wake,
            configuration: configuration.sync,
            statistics: statistics,
            logger: logger)
        let listener = ChangeListener(
            databaseURL: configuration.databaseURL, wake: wake, statistics: statistics,
            retry: configuration.sync.retry, logger: logger)
        let http = HTTPServer(
            host: configuration.listenHost, port: configuration.listenPort,
            responder: AdminRoutes(statistics: statistics, elasticsearch: client, logger: logger),
            logger: logger, onBound: onHTTPBound)

        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: engine),
                    .init(service: listener),
                    .init(service: http),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
