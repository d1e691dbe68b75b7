import Model

/// One document to write: where, which, at which external version, and its
/// JSON (nil deletes it).
public struct DocumentWrite: Sendable {
    public var target: String
    public var ref: DocumentRef
    public var version: Int64
    public var json: String?

    public init(target: String, ref: DocumentRef, version: Int64, json: String?) {
        self.target = target
        self.ref = ref
        self.version = version
        self.json = json
    }
}

extension ElasticsearchClient {
    /// Writes documents in bulk requests of at most `maxBulkBytes` and
    /// `maxDocuments`, one after the other, and classifies every item, in
    /// order. A request the cluster finds too large (413) is halved until
    /// its parts fit; a single document it still refuses is `.rejected`. The live sync and index builds both write through here.
    /// Throws `IndexWriteError` when a request as a whole failed (the
    /// requests before it may have been applied: every write is versioned,
    /// so writing them again is harmless).
    public func write(_ documents: [DocumentWrite], maxDocuments: Int = .max) async throws -> [(outcome: WriteOutcome, error: BulkResponse.Item.ItemError?)] {
        var results: [(outcome: WriteOutcome, error: BulkResponse.Item.ItemError?)] = []
        results.reserveCapacity(documents.count)
        for range in BulkRequest.split(documents, maxBytes: maxBulkBytes, maxDocuments: maxDocuments) {
            results += try await writeOneRequest(documents[range])
        }
        return results
    }

    private func writeOneRequest(_ documents: ArraySlice<DocumentWrite>) async throws -> [(outcome: WriteOutcome, error: BulkResponse.Item.ItemError?)] {
        var request = BulkRequest()
        for document in documents {
            let id = String(document.ref.id)
            if let json = document.json {
                request.index(into: document.target, id: id, version: document.version, source: json)
            } else {
                request.delete(from: document.target, id: id, version: document.version)
            }
        }
        let response: BulkResponse
        do {
            response = try await bulk(request)
        } catch let error as ElasticsearchError where error.status == 413 {
            // Larger than the cluster takes (`http.max_content_length`): halve until
            // it fits. A document refused on its own never will, and is rejected
            // like a mapping error (the caller parks it in the dead-letter table).
            guard documents.count > 1 else {
                return [(.rejected(type: "request_too_large", reason: Self.tooLargeReason(bytes: request.body.readableBytes)), nil)]
            }
            let middle = documents.startIndex + documents.count / 2
            return try await writeOneRequest(documents[..<middle]) + writeOneRequest(documents[middle...])
        } catch let error as ElasticsearchError {
            throw IndexWriteError(overloaded: error.status == 429, transient: error.isTransient, error.description)
        }
        guard response.items.count == documents.count else {
            throw IndexWriteError(overloaded: false, transient: false,
                                  "bulk answered \(response.items.count) items for \(documents.count) actions")
        }
        return response.items.map { (Self.outcome(of: $0), $0.error) }
    }

    static func tooLargeReason(bytes: Int) -> String {
        "a bulk request of this one document (\(bytes) bytes) was refused with 413 Payload Too Large: "
            + "larger than the cluster's http.max_content_length"
    }

    /// Classifies one bulk item.
    public static func outcome(of item: BulkResponse.Item) -> WriteOutcome {
        switch item.status {
        case 200..<300:
            return .applied
        case 404 where item.action == "delete" && item.error == nil:
            return .applied  // already absent
        case 409:
            return .superseded  // a newer version is stored
        case 429:
            return .retry(reason: "\(item.status) \(item.error?.type ?? "")", overloaded: true)
        case 500...:
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
