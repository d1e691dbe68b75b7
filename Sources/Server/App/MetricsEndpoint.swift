import HTTP
import Logging
import Metrics
import Model
import NIOCore
import NIOHTTP1
import Postgres
import Prometheus
import Realtime
import Sync
import Synchronization

/// `GET /metrics`: the Prometheus text exposition of what swift-metrics
/// recorded (docs synced, errors, lag, bulk and fan-out histograms), with the values
/// that live elsewhere read at scrape time: changes captured (the change
/// log's identity), backlog and open dead letters (one query), WebSocket
/// connections and messages sent (the hub), whether this instance leads,
/// and which index mappings drifted from their declaration.
public final class MetricsEndpoint: Sendable {
    let registry: PrometheusCollectorRegistry
    let database: ManagedConnection
    let hub: RealtimeHub?
    let drift: MappingDrift
    let leadership: Leadership?
    let replication: ReplicationMonitor
    let logger: Logger
    /// Totals at the previous scrape, to advance the counters by the difference.
    private let previous = Mutex((captured: Int64(0), sent: 0))
    /// Replication slots exported at the previous scrape (a dropped slot's series go away).
    private let exportedSlots = Mutex<Set<String>>([])

    public init(registry: PrometheusCollectorRegistry, database: ManagedConnection, hub: RealtimeHub?,
                leadership: Leadership? = nil, replication: ReplicationMonitor = ReplicationMonitor(),
                drift: MappingDrift = MappingDrift(), logger: Logger) {
        self.registry = registry
        self.drift = drift
        self.leadership = leadership
        self.replication = replication
        self.database = database
        self.hub = hub
        self.logger = logger
    }

    /// Makes swift-metrics report into `registry` (once per process).
    public static func bootstrap(_ registry: PrometheusCollectorRegistry) {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        SyncMetrics.register()
        RealtimeHub.registerMetrics()
    }

    func respond() async -> HTTPResponse {
        await refresh()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 << 10)
        registry.emit(into: &buffer)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
        return HTTPResponse(headers: headers, body: ByteBuffer(bytes: buffer))
    }

    static let replicationGauges = [
        ("hacksync_replication_lag_bytes", "WAL the subscriber has not confirmed, bytes"),
        ("hacksync_replication_lag_seconds", "How far the subscriber is behind, seconds"),
        ("hacksync_replication_retained_wal_bytes", "WAL the slot keeps on the source, bytes"),
        ("hacksync_replication_stalled", "1 when the slot has no subscriber or no replies for too long"),
    ]

    /// One series per slot and gauge, labelled `subscription` (the slot name).
    private func exportReplication(_ slots: [ReplicationMonitor.Slot]) {
        func gauge(_ index: Int, _ slot: String) -> Prometheus.Gauge {
            let (name, help) = Self.replicationGauges[index]
            return registry.makeGauge(name: name, labels: [("subscription", slot)], help: help)
        }
        // Under one lock: a concurrent scrape must not bring back a dropped slot's series.
        exportedSlots.withLock { exported in
            for slot in slots {
                gauge(0, slot.slot).set(Double(slot.lagBytes))
                gauge(1, slot.slot).set(Double(slot.lagSeconds))
                gauge(2, slot.slot).set(Double(slot.retainedBytes))
                gauge(3, slot.slot).set(slot.stalled ? 1.0 : 0.0)
            }
            let current = Set(slots.map(\.slot))
            for slot in exported.subtracting(current) {
                for index in Self.replicationGauges.indices { registry.unregisterGauge(gauge(index, slot)) }
            }
            exported = current
        }
    }

    private func refresh() async {
        if let leadership {
            // 1 on the instance that syncs, 0 on a standby.
            Gauge(label: "hacksync_leader").record(leadership.role == .leader ? 1 : 0)
        }
        let drifted = drift.current
        for entity in Entity.allCases {
            // 1 while the index's mapping differs from the declaration it was built from.
            Gauge(label: "hacksync_index_mapping_drift", dimensions: [("index", entity.rawValue)]).record(drifted[entity] == nil ? 0 : 1)
        }
        if let hub {
            Gauge(label: "hacksync_ws_connections").record(hub.connectionCount)
            let sent = hub.messagesSent
            let delta = previous.withLock { p in defer { p.sent = max(p.sent, sent) }; return sent - p.sent }
            Counter(label: "hacksync_ws_messages_sent_total").increment(by: max(0, delta))
        }
        do {
            let row = try await database.with { db in
                try await db.query("""
                    SELECT coalesce((SELECT max(seq) FROM sync.changes), 0),
                           (SELECT count(*) FROM sync.changes WHERE processed_at IS NULL),
                           (SELECT count(*) FROM sync.dead_letters WHERE resolved_at IS NULL)
                    """).rows[0]
            }
            let captured = row.int64(0) ?? 0
            let delta = previous.withLock { p in defer { p.captured = max(p.captured, captured) }; return captured - p.captured }
            Counter(label: "hacksync_changes_captured_total").increment(by: max(0, delta))
            Gauge(label: "hacksync_backlog_changes").record(row.int64(1) ?? 0)
            Gauge(label: "hacksync_dlq_entries").record(row.int64(2) ?? 0)
        } catch {
            // The other series still go out; the Postgres ones keep their last value.
            logger.debug("metrics: Postgres unavailable", metadata: ["error": "\(error)"])
        }
        do {
            for run in try await database.with({ try await ImportRun.list($0, limit: 20) }) {
                let labels = [("import", run.name)]
                Gauge(label: "hacksync_import_running", dimensions: labels).record(run.state == "running" ? 1 : 0)
                Gauge(label: "hacksync_import_records", dimensions: labels).record(run.records)
                Gauge(label: "hacksync_import_inserted", dimensions: labels).record(run.inserted)
                Gauge(label: "hacksync_import_dead_lettered", dimensions: labels).record(run.deadLettered)
                Gauge(label: "hacksync_import_rate_limited", dimensions: labels).record(run.rateLimited)
                Gauge(label: "hacksync_import_retries", dimensions: labels).record(run.retries)
            }
        } catch {
            logger.debug("metrics: imports unreadable", metadata: ["error": "\(error)"])
        }
        do {
            exportReplication(try await database.with { try await replication.slots($0) })
        } catch {
            // Without a reading the slots keep their last values.
            logger.debug("metrics: replication slots unreadable", metadata: ["error": "\(error)"])
        }
    }
}
