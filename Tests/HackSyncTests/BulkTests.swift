import Foundation
import Model
import NIOCore
import Search
@testable import Server
import Sync
import Testing

@Suite struct BulkTests {
    @Test func bulkBodyCarriesExternalVersionsAndRawDocuments() {
        var request = BulkRequest()
        request.index(into: "users", id: "5", version: 42, source: #"{"name": "Ada"}"#)
        request.delete(from: "projects", id: "9", version: 42)
        let text = String(buffer: request.body)
        #expect(text == """
            {"index":{"_index":"users","_id":"5","version":42,"version_type":"external_gte"}}
            {"name": "Ada"}
            {"delete":{"_index":"projects","_id":"9","version":42,"version_type":"external_gte"}}

            """)
        #expect(request.count == 2)
    }

    @Test func bulkRequestsAreCutByBytesInOrderAndABigDocumentGoesAlone() {
        func write(_ id: Int64, bytes: Int?) -> DocumentWrite {
            DocumentWrite(target: "projects", ref: DocumentRef(.projects, id), version: 1,
                          json: bytes.map { #"{"d":""# + String(repeating: "x", count: $0 - 8) + #""}"# })
        }
        let small = (1...10).map { write($0, bytes: 1_000) }
        #expect(BulkRequest.split(small, maxBytes: 1 << 20) == [0..<10], "small documents go in one request")
        // ~1,123 bytes per action: three fit under 3,500, the fourth starts the next request.
        #expect(BulkRequest.split(small, maxBytes: 3_500) == [0..<3, 3..<6, 6..<9, 9..<10])
        let mixed = [write(1, bytes: 500), write(2, bytes: 10_000), write(3, bytes: nil), write(4, bytes: 500)]
        #expect(BulkRequest.split(mixed, maxBytes: 4_000) == [0..<1, 1..<2, 2..<4], "an oversized document goes alone")
        #expect(BulkRequest.split([], maxBytes: 100).isEmpty)
        #expect(BulkRequest.split(small, maxBytes: 1 << 20, maxDocuments: 4) == [0..<4, 4..<8, 8..<10], "and by count")
        #expect(BulkRequest.split(small, maxBytes: 3_500, maxDocuments: 2) == [0..<2, 2..<4, 4..<6, 6..<8, 8..<10])

        // The estimate covers the real body: a request never exceeds the limit by more than one document.
        var request = BulkRequest()
        for document in small[0..<3] { request.index(into: document.target, id: String(document.ref.id), version: 1, source: document.json!) }
        #expect(request.body.readableBytes <= small[0..<3].map(BulkRequest.actionBytes).reduce(0, +))
    }

    @Test func bulkResponseDecodesEveryItemInOrder() throws {
        let json = #"""
        {"took":3,"errors":true,"items":[
          {"index":{"_index":"users_v1","_id":"1","status":201,"result":"created"}},
          {"index":{"_index":"users_v1","_id":"2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"newer"}}},
          {"delete":{"_index":"projects_v1","_id":"3","status":404,"result":"not_found"}},
          {"index":{"_index":"hackathons_v1","_id":"4","status":400,"error":{"type":"mapper_parsing_exception","reason":"bad date"}}}
        ]}
        """#
        let response = try JSONDecoder().decode(BulkResponse.self, from: Data(json.utf8))
        #expect(response.errors)
        #expect(response.items.map(\.action) == ["index", "index", "delete", "index"])
        #expect(response.items.map(\.status) == [201, 409, 404, 400])
        #expect(response.items[3].error?.type == "mapper_parsing_exception")
    }

    @Test(arguments: [
        (BulkResponse.Item(action: "index", index: "u", id: "1", status: 201, result: "created", error: nil), WriteOutcome.applied),
        (BulkResponse.Item(action: "index", index: "u", id: "1", status: 200, result: "updated", error: nil), .applied),
        (BulkResponse.Item(action: "delete", index: "u", id: "1", status: 404, result: "not_found", error: nil), .applied),
        (BulkResponse.Item(action: "index", index: "u", id: "1", status: 409, result: nil,
                           error: .init(type: "version_conflict_engine_exception", reason: "x")), .superseded),
        (BulkResponse.Item(action: "index", index: "u", id: "1", status: 429, result: nil,
                           error: .init(type: "es_rejected_execution_exception", reason: "busy")), .retry(reason: "429 es_rejected_execution_exception", overloaded: true)),
        (BulkResponse.Item(action: "index", index: "u", id: "1", status: 503, result: nil,
                           error: .init(type: "unavailable_shards_exception", reason: "x")), .retry(reason: "503 unavailable_shards_exception")),
        (BulkResponse.Item(action: "index", index: "u", id: "1", status: 404, result: nil,
                           error: .init(type: "index_not_found_exception", reason: "no alias")), .retry(reason: "no alias")),
        (BulkResponse.Item(action: "index", index: "u", id: "1", status: 400, result: nil,
                           error: .init(type: "mapper_parsing_exception", reason: "bad date")), .rejected(type: "mapper_parsing_exception", reason: "bad date")),
    ])
    func bulkItemsAreClassified(item: BulkResponse.Item, expected: WriteOutcome) {
        #expect(ElasticsearchClient.outcome(of: item) == expected)
    }
}
