import AsyncHTTPClient
import AsyncWakeup
import Foundation
import HTTP
import Logging
import Model
import NIOHTTP1
import Postgres
import Prometheus
import Realtime
import Search
import ServiceLifecycle
import Sync
import WebSocket

/// Wires the parts of `hacksync serve` together: the LISTEN connection, the
/// sync engine, the index guard, housekeeping and the admin HTTP server, run
/// as one service group so that SIGTERM stops them in reverse order (HTTP
/// first, then the listener; the engine last, after it finished the batch in
/// flight).
public struct HackSyncService {
    public let configuration: HackSyncConfiguration
    public let statistics = SyncStatistics()
    public let wake = WakeSignal()
    /// Where swift-metrics reports once `MetricsEndpoint.bootstrap` ran; served at /metrics.
    public let metrics = PrometheusCollectorRegistry()
    let logger: Logger

    public init(configuration: HackSyncConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until SIGTERM/SIGINT (or until cancelled).
    public func run(onHTTPBound: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let esURL = try ElasticsearchURL(configuration.elasticsearchURL)
        let client = ElasticsearchClient(url: esURL, http: ElasticsearchClient.sharedHTTPClient, logger: logger)
        let indexes = SearchIndexes(client: client, prefix: configuration.indexPrefix, logger: logger)
        logger.notice("starting hacksync", metadata: [
            "pg.url": "\(redactedDatabaseURL(configuration.databaseURL))",
            "es.url": "\(esURL)",
        ])
        // One connection per role, each reopened after it breaks; work that
        // holds a transaction or a long scan opens its own per operation.
        let database = PostgresConnector(configuration.databaseURL, logger: logger)
        let eventLog = PostgresEventLog(database.shared(applicationName: "hacksync-events"))
        // Read-your-writes (`/api/wait`, and `wait` on `/ws`): every settle
        // is announced to every instance, and the follower passes it on.
        let waits = WriteWaits(database: database.shared(applicationName: "hacksync-wait", queryTimeout: PostgresConnector.endpointQueryTimeout), logger: logger) {
            for entity in Entity.allCases { try await client.refresh(indexes.alias(for: entity)) }
        }
        let hub = RealtimeHub(configuration: configuration.realtime, log: eventLog, writeWaits: waits, logger: logger)
        // Every instance serves the whole live stream from the event log,
        // whether it leads or waits as a standby; on the leader the engine's
        // settled batches wake the follower.
        let eventsWake = Wakeup()
        var follower = EventFollower(log: eventLog, hub: hub, wake: eventsWake, logger: logger)
        follower.afterCatchUp = { waits.settled() }
        let leadership = Leadership(configuration: configuration.leadership, logger: logger)
        let store = PostgresChangeStore(database: database, leadership: leadership)
        let indexGuard = IndexGuard(database: database, client: client, indexes: indexes, logger: logger)
        let reconciler = Reconciler(database: database, client: client, indexes: indexes, logger: logger)
        let maintenance = Maintenance(
            database: database, retention: configuration.retention,
            reconcileSchedule: configuration.reconcileSchedule, reconciler: reconciler, logger: logger)
        let engine = SyncEngine(
            store: store,
            index: ElasticsearchDocumentIndex(client: client, indexes: indexes,
                                              ensureIndexes: { try await indexGuard.ensureIndexes() },
                                              maxDocumentsPerRequest: configuration.bulkDocuments, logger: logger),
            wake: wake,
            configuration: configuration.sync,
            statistics: statistics,
            eventSink: follower,
            logger: logger)
        var endpoint = WebSocketEndpoint(path: "/ws") { connection, head in
            hub.attach(connection, authorized: hub.isAuthorized(token: Self.token(in: head)))
        }
        endpoint.allowedOrigins = configuration.allowedOrigins
        endpoint.configuration = configuration.realtime.webSocket
        let listener = ChangeListener(
            database: database, wake: wake, eventsWake: eventsWake, statistics: statistics,
            retry: configuration.sync.retry, logger: logger)
        // One connection for /api/status and /metrics (their queries are short), and one
        // monitor: it remembers since when each slot waits.
        let admin = database.shared(applicationName: "hacksync-admin", queryTimeout: PostgresConnector.endpointQueryTimeout)
        let replication = ReplicationMonitor(stallAfter: configuration.replicationStallAfter)
        var http = HTTPServer(
            host: configuration.listenHost, port: configuration.listenPort,
            responder: AdminRoutes(
                statistics: statistics, adminToken: configuration.adminToken, webSocket: endpoint,
                operations: Operations(
                    database: database, indexGuard: indexGuard, reconciler: reconciler, maintenance: maintenance.status, logger: logger),
                status: StatusAPI(database: admin, statistics: statistics, indexes: indexes, hub: hub,
                                  leadership: leadership, replication: replication, drift: indexGuard.drift, logger: logger),
                metrics: MetricsEndpoint(registry: metrics, database: admin, hub: hub, leadership: leadership,
                                         replication: replication, drift: indexGuard.drift, logger: logger),
                waits: waits,
                logger: logger),
            logger: logger, onBound: onHTTPBound)
        http.webSocket = endpoint
        http.limits = configuration.http

        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: engine),
                    .init(service: indexGuard),
                    .init(service: maintenance),
                    .init(service: follower),
                    .init(service: waits),
                    .init(service: listener),
                    .init(service: http),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }

    /// The subscriber's token: `Authorization: Bearer …` or `?token=…`.
    static func token(in head: HTTPRequestHead) -> String? {
        HTTPRequest.bearerToken(in: head.headers) ?? HTTPRequest(method: head.method, uri: head.uri).query["token"]
    }
}
