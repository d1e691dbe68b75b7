import NIOCore

/// An NDJSON `_bulk` body. Documents arrive as JSON text built by Postgres and
/// are copied into the body as bytes, never decoded.
public struct BulkRequest: Sendable {
    public private(set) var body = ByteBuffer()
    public private(set) var count = 0

    public init() {}

    /// Indexes `source` under an external version: Elasticsearch keeps the
    /// write only if `version` is at least the stored one (external_gte: an
    /// equal version is the same snapshot's state, so a retry is harmless).
    public mutating func index(into index: String, id: String, version: Int64, source: String) {
        body.writeString(#"{"index":{"_index":"\#(index)","_id":"\#(id)","version":\#(version),"version_type":"external_gte"}}"#)
        body.writeInteger(UInt8(ascii: "\n"))
        body.writeString(source)
        body.writeInteger(UInt8(ascii: "\n"))
        count += 1
    }

    /// Cuts `documents` into runs of at most `maxDocuments` whose bulk
    /// bodies stay within `maxBytes` (a document larger than that goes
    /// alone), in order.
    public static func split(_ documents: [DocumentWrite], maxBytes: Int, maxDocuments: Int = .max) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0, bytes = 0
        for (index, document) in documents.enumerated() {
            let size = actionBytes(document)
            if index > start && (bytes + size > maxBytes || index - start >= maxDocuments) {
                ranges.append(start..<index)
                start = index
                bytes = 0
            }
            bytes += size
        }
        if start < documents.count { ranges.append(start..<documents.count) }
        return ranges
    }

    /// The bytes `document` adds to a body (action line, source, newlines).
    public static func actionBytes(_ document: DocumentWrite) -> Int {
        // {"index":{"_index":"…","_id":"…","version":…,"version_type":"external_gte"}} and its newline:
        // 74 bytes around the index name, the id and the version (at most 20 digits each).
        let action = 74 + document.target.utf8.count + 20 + 20
        return action + (document.json.map { $0.utf8.count + 1 } ?? 0)
    }

    /// Deletes under an external version, which leaves a tombstone so an
    /// older write arriving later cannot bring the document back.
    public mutating func delete(from index: String, id: String, version: Int64) {
        body.writeString(#"{"delete":{"_index":"\#(index)","_id":"\#(id)","version":\#(version),"version_type":"external_gte"}}"#)
        body.writeInteger(UInt8(ascii: "\n"))
        count += 1
    }
}

extension ElasticsearchClient {
    /// Sends a bulk request. Targets must be aliases (`require_alias`), so a
    /// wiped cluster answers "index not found" instead of auto-creating an
    /// index with guessed mappings.
    public func bulk(_ request: BulkRequest) async throws -> BulkResponse {
        let response = try await send(.POST, "/_bulk?require_alias=true", body: request.body)
        guard response.isSuccess else {
            throw ElasticsearchError(.httpStatus, status: response.status, "POST /_bulk: \(response.text.prefix(500))")
        }
        return try response.decode(BulkResponse.self)
    }
}
