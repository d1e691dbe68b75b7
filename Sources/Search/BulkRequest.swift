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
