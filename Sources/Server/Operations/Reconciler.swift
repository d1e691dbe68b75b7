import Foundation
import Logging
import Model
import Postgres
import Search
import Sync

/// What a reconciliation found and repaired.
public struct ReconcileReport: Codable, Sendable, Equatable {
    public struct Drift: Codable, Sendable, Equatable {
        public var entity: Entity
        /// Documents Postgres says should exist.
        public var expected = 0
        /// Documents the index holds.
        public var indexed = 0
        /// In Postgres, absent from the index.
        public var missing = 0
        /// In the index, gone from Postgres.
        public var extra = 0
        /// In both, with different content.
        public var different = 0
        /// Re-sync requests queued (missing + extra + different).
        public var repaired = 0
        /// A few of the drifted ids, for the operator.
        public var examples: [Int64] = []
    }

    public var entities: [Drift] = []
    public var startedAt = Date()
    public var seconds = 0.0

    public var repaired: Int { entities.reduce(0) { $0 + $1.repaired } }
}

/// Compares every document in the index with what Postgres builds for it,
/// and repairs the drift through the sync itself (a 'refresh' change per
/// drifted document, so repairs are versioned and make events like any
/// other write).
///
/// Both sides are read in id order, page by page (keyset pagination on
/// Postgres, `search_after` on the index). A document can differ only
/// because a write is in flight; such candidates are checked again once the
/// changes pending at the start have drained, and only what still differs is
/// repaired.
public struct Reconciler: Sendable {
    let database: PostgresConnector
    let client: ElasticsearchClient
    let indexes: SearchIndexes
    let logger: Logger
    public var pageSize = 1000
    /// How long candidates wait for in-flight changes before the second look.
    public var settleTimeout: Duration = .seconds(10)

    public init(database: PostgresConnector, client: ElasticsearchClient, indexes: SearchIndexes, logger: Logger) {
        self.database = database
        self.client = client
        self.indexes = indexes
        self.logger = logger
    }

    public func run(_ entities: [Entity] = Entity.allCases, repair: Bool = true) async throws -> ReconcileReport {
        let clock = ContinuousClock()
        let start = clock.now
        var report = ReconcileReport(startedAt: Date())
        try await database.withConnection(applicationName: "hacksync-reconcile", queryTimeout: PostgresConnector.maintenanceQueryTimeout) { db in
            let pendingUpTo = try await db.query("SELECT coalesce(max(seq), 0) FROM sync.changes WHERE processed_at IS NULL").rows.first?.int64(0) ?? 0
            var candidates: [Entity: Set<Int64>] = [:]
            for entity in entities {
                var drift = ReconcileReport.Drift(entity: entity)
                candidates[entity] = try await compareAll(entity, &drift, db)
                report.entities.append(drift)
            }
            if candidates.values.contains(where: { !$0.isEmpty }) {
                try await waitForChanges(upTo: pendingUpTo, db)
            }
            for (position, entity) in entities.enumerated() {
                guard let ids = candidates[entity], !ids.isEmpty else { continue }
                var drift = report.entities[position]
                let confirmed = try await recheck(entity, ids: ids.sorted(), &drift, db)
                if repair && !confirmed.isEmpty {
                    _ = try await db.query("SELECT sync.request_refresh($1, $2::bigint[])", [entity.rawValue, confirmed])
                    drift.repaired = confirmed.count
                }
                drift.examples = Array(confirmed.prefix(10))
                report.entities[position] = drift
            }
        }
        report.seconds = (clock.now - start) / .seconds(1)
        let metadata: Logger.Metadata = Dictionary(uniqueKeysWithValues: report.entities.map {
            ("\($0.entity)", "\($0.expected) expected, \($0.missing) missing, \($0.extra) extra, \($0.different) different" as Logger.MetadataValue)
        })
        logger.notice(report.repaired == 0 ? "reconciled: index equals Postgres" : "reconciled: drift repaired", metadata: metadata)
        return report
    }

    /// First pass: every id of both sides. Returns the ids that differ.
    private func compareAll(_ entity: Entity, _ drift: inout ReconcileReport.Drift, _ db: PostgresConnection) async throws -> Set<Int64> {
        let alias = indexes.alias(for: entity)
        try await client.refresh(alias)
        var candidates = Set<Int64>()
        var after: Int64 = 0
        while true {
            let rows = try await db.query("SELECT id, doc FROM sync.read_page($1, $2, $3)", [entity.rawValue, after, pageSize])
            let upper = rows.rows.last?.int64(0)
            var expected: [Int64: String] = [:]
            for row in rows.rows {
                if let id = row.int64(0), let doc = row.string(1) { expected[id] = doc }
            }
            let indexed = try await indexedDocuments(alias, after: after, upTo: upper)
            drift.expected += expected.count
            drift.indexed += indexed.count
            for (id, doc) in expected {
                guard let actual = indexed[id] else {
                    candidates.insert(id)
                    continue
                }
                if (try? JSONValue.parse(doc)) != actual { candidates.insert(id) }
            }
            for id in indexed.keys where expected[id] == nil { candidates.insert(id) }
            guard let upper else { break }
            after = upper
        }
        return candidates
    }

    /// Second look at the candidates; counts and returns what still differs.
    private func recheck(_ entity: Entity, ids: [Int64], _ drift: inout ReconcileReport.Drift, _ db: PostgresConnection) async throws -> [Int64] {
        let alias = indexes.alias(for: entity)
        try await client.refresh(alias)
        var confirmed: [Int64] = []
        for chunk in stride(from: 0, to: ids.count, by: pageSize).map({ Array(ids[$0..<min($0 + pageSize, ids.count)]) }) {
            let rows = try await db.query(
                "SELECT id, doc::text FROM sync.read_documents(array_fill($1::text, ARRAY[cardinality($2::bigint[])]), $2::bigint[])",
                [entity.rawValue, chunk])
            var expected: [Int64: String] = [:]
            for row in rows.rows {
                if let id = row.int64(0), let doc = row.string(1) { expected[id] = doc }
            }
            let indexed = try await fetch(alias, ids: chunk)
            for id in chunk {
                switch (expected[id], indexed[id]) {
                case (nil, nil): continue
                case (_?, nil): drift.missing += 1
                case (nil, _?): drift.extra += 1
                case (let doc?, let actual?):
                    if (try? JSONValue.parse(doc)) == actual { continue }
                    drift.different += 1
                }
                confirmed.append(id)
            }
        }
        return confirmed
    }

    /// Waits (bounded) until the changes pending at the start are synced.
    private func waitForChanges(upTo seq: Int64, _ db: PostgresConnection) async throws {
        let deadline = ContinuousClock.now + settleTimeout
        while ContinuousClock.now < deadline {
            let pending = try await db.query("SELECT count(*) FROM sync.changes WHERE processed_at IS NULL AND seq <= $1", [seq]).scalar
            if pending == "0" { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        logger.info("reconcile: changes still pending after the wait; rechecking anyway")
    }

    /// Index documents with after < id <= upTo (no upper bound when nil).
    private func indexedDocuments(_ alias: String, after: Int64, upTo: Int64?) async throws -> [Int64: JSONValue] {
        var result: [Int64: JSONValue] = [:]
        var cursor = after
        while true {
            let range = upTo.map { #"{"gt":\#(cursor),"lte":\#($0)}"# } ?? #"{"gt":\#(cursor)}"#
            let body = #"{"size":\#(pageSize),"sort":[{"id":"asc"}],"query":{"range":{"id":\#(range)}}}"#
            let response = try await client.expectSuccess(.POST, "/\(alias)/_search", json: body)
            let hits = try JSONValue.parse(response.body.readableBytesView)[path: "hits.hits"]?.array ?? []
            for hit in hits {
                guard let id = hit["_id"]?.string.flatMap(Int64.init), let source = hit["_source"] else { continue }
                result[id] = source
                cursor = max(cursor, id)
            }
            if hits.count < pageSize { return result }
        }
    }

    private func fetch(_ alias: String, ids: [Int64]) async throws -> [Int64: JSONValue] {
        let body = #"{"ids":[\#(ids.map { "\"\($0)\"" }.joined(separator: ","))]}"#
        let response = try await client.expectSuccess(.POST, "/\(alias)/_mget", json: body)
        var result: [Int64: JSONValue] = [:]
        for doc in try JSONValue.parse(response.body.readableBytesView)["docs"]?.array ?? [] {
            guard doc["found"] == .bool(true), let id = doc["_id"]?.string.flatMap(Int64.init), let source = doc["_source"] else { continue }
            result[id] = source
        }
        return result
    }
}
