import Logging
import Model
import Search
import Sync
import Synchronization

/// Elasticsearch as the sync engine's `DocumentIndex`.
///
/// Writes go to the aliases with `require_alias`, so a wiped cluster fails the
/// items (and the engine retries) instead of Elasticsearch inventing an index
/// with dynamic mappings. A missing alias is recreated before the retry, by
/// `ensureIndexes` (the service's `IndexGuard`, which also refills it).
public final class ElasticsearchDocumentIndex: DocumentIndex {
    let client: ElasticsearchClient
    let indexes: SearchIndexes
    let ensureIndexes: @Sendable () async throws -> Void
    let logger: Logger
    /// Documents per bulk request. A cluster works through a bulk as a unit
    /// and a request queued behind it waits (the in-memory server here takes
    /// one at a time, ~0.3 ms per document at the median and ~2 ms at p99),
    /// so a batch goes out as several modest requests: a fresh edit's bulk
    /// or a search waits for one of them, not for all (`make bench-headofline`).
    let maxDocumentsPerRequest: Int
    public static let defaultDocumentsPerRequest = 100
    /// Whether the aliases were checked since start or since one went missing.
    /// Checked lazily, on the first write, so that start-up never waits for
    /// a cluster that is down.
    private let aliasesChecked: Mutex<Bool>

    public init(client: ElasticsearchClient, indexes: SearchIndexes,
                ensureIndexes: (@Sendable () async throws -> Void)? = nil, maxDocumentsPerRequest: Int = defaultDocumentsPerRequest, logger: Logger) {
        self.client = client
        self.maxDocumentsPerRequest = max(1, maxDocumentsPerRequest)
        self.indexes = indexes
        self.ensureIndexes = ensureIndexes ?? { try await indexes.ensure() }
        self.logger = logger
        self.aliasesChecked = Mutex(false)
    }

    public func write(_ batch: DocumentBatch) async throws -> [DocumentRef: WriteOutcome] {
        guard !batch.documents.isEmpty else { return [:] }
        if !aliasesChecked.withLock({ $0 }) {
            try await ensureIndexes()
            aliasesChecked.withLock { $0 = true }
        }
        let writes = batch.documents.map {
            DocumentWrite(target: indexes.alias(for: $0.ref.entity), ref: $0.ref, version: batch.version, json: $0.json)
        }
        var outcomes: [DocumentRef: WriteOutcome] = [:]
        var missingIndex = false
        for (document, item) in zip(batch.documents, try await client.write(writes, maxDocuments: maxDocumentsPerRequest)) {
            if case .retry = item.outcome, item.error?.type == "index_not_found_exception" { missingIndex = true }
            outcomes[document.ref] = item.outcome
        }
        if missingIndex {
            logger.warning("an index alias is missing; it is recreated before the retry")
            aliasesChecked.withLock { $0 = false }
        }
        return outcomes
    }
}
