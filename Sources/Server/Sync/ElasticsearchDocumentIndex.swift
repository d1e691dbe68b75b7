import Logging
import NIOCore
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
    /// Whether the aliases were checked since start or since one went missing.
    /// Checked lazily, on the first write, so that start-up never waits for
    /// a cluster that is down.
    private let aliasesChecked: Mutex<Bool>

    public init(client: ElasticsearchClient, indexes: SearchIndexes,
                ensureIndexes: (@Sendable () async throws -> Void)? = nil, logger: Logger) {
        self.client = client
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
        var request = BulkRequest()
        for document in batch.documents {
            let alias = indexes.alias(for: document.ref.entity)
            let id = String(document.ref.id)
            if let json = document.json {
                request.index(into: alias, id: id, version: batch.version, source: json)
            } else {
                request.delete(from: alias, id: id, version: batch.version)
            }
        }
        let response = try await client.bulk(request)
        guard response.items.count == batch.documents.count else {
            throw ElasticsearchError(.badResponse, "bulk answered \(response.items.count) items for \(batch.documents.count) actions")
        }
        var outcomes: [DocumentRef: WriteOutcome] = [:]
        var missingIndex = false
        for (document, item) in zip(batch.documents, response.items) {
            let outcome = Self.outcome(of: item)
            if case .retry = outcome, item.error?.type == "index_not_found_exception" { missingIndex = true }
            outcomes[document.ref] = outcome
        }
        if missingIndex {
            logger.warning("an index alias is missing; it is recreated before the retry")
            aliasesChecked.withLock { $0 = false }
        }
        return outcomes
    }

    /// Classifies one bulk item.
    static func outcome(of item: BulkResponse.Item) -> WriteOutcome {
        switch item.status {
        case 200..<300:
            return .applied
        case 404 where item.action == "delete" && item.error == nil:
            return .applied  // already absent
        case 409:
            return .superseded  // a newer version is stored
        case 429, 500...:
            return .retry(reason: "\(item.status) \(item.error?.type ?? "")")
        case 404:
            return .retry(reason: item.error?.reason ?? "index not found")
        default:
            if let error = item.error, error.type == "cluster_block_exception" {
                return .retry(reason: error.reason ?? error.type)
            }
            return .rejected(type: item.error?.type ?? "status \(item.status)", reason: item.error?.reason ?? "")
        }
    }
}
