import Metrics
import Model

/// What the engine reports through swift-metrics (a no-op until the process
/// bootstraps a backend; `hacksync serve` exports them at /metrics).
public enum SyncMetrics {
    /// Commit → Elasticsearch acknowledgement of the oldest change in a batch.
    static let lag = Metrics.Timer(label: "hacksync_sync_lag_seconds")
    /// One bulk request, sent to answered.
    static let bulk = Metrics.Timer(label: "hacksync_es_bulk_seconds")

    /// Creates every series at zero, so that a scrape shows them before the first event.
    public static func register() {
        _ = lag
        _ = bulk
        for entity in Entity.allCases {
            for operation in ["index", "delete"] { _ = documents(entity, operation) }
        }
        for kind in ["index", "overloaded", "rejected", "postgres"] { _ = error(kind) }
    }

    static func documents(_ entity: Entity, _ operation: String) -> Counter {
        Counter(label: "hacksync_docs_synced_total", dimensions: [("index", entity.rawValue), ("op", operation)])
    }

    /// kind: index (a write failed or was refused), overloaded (429),
    /// rejected (a document parked in the dead-letter table), postgres.
    static func error(_ kind: String) -> Counter {
        Counter(label: "hacksync_sync_errors_total", dimensions: [("kind", kind)])
    }
}
