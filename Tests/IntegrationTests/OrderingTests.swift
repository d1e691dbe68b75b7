import Model
import Foundation
import Logging
import Postgres
import Server
import Sync
import Testing

/// Invariants 1 and 2: no change is skipped, and nothing goes backwards.
@Suite(.integration) struct OrderingTests {
    /// Sequence values commit out of order. Transaction A takes the smaller
    /// seq but commits after B, and after the sync has already settled B's
    /// larger seq. A cursor "seq > last seen" would skip A forever; claiming
    /// unprocessed rows cannot.
    @Test func aTransactionThatCommitsLateWithASmallerSeqIsNotSkipped() async throws {
        try await SyncFixture.with { f in
            let late = try await PostgresConnection.connect(f.databaseURL, logger: f.logger)
            try await late.execute("BEGIN")
            let lateID = try await late.query("INSERT INTO users (username, email) VALUES ('late', 'late@x') RETURNING id").rows[0].int64(0)!
            let lateSeq = try await late.query("SELECT max(seq) FROM sync.changes").rows[0].int64(0)!

            let earlyID = try await f.insertUser("early")
            let earlySeq = try await f.sql("SELECT max(seq) FROM sync.changes").rows[0].int64(0)!
            #expect(lateSeq < earlySeq)

            // The sync settles the larger seq while the smaller one is still invisible.
            try await f.waitFor(.users, earlyID, "early commit synced") { $0 != nil }
            try await eventually("the larger seq to be settled") {
                try await f.sql("SELECT processed_at IS NOT NULL FROM sync.changes WHERE seq = $1", [earlySeq]).scalar == "t" ? nil : "pending"
            }

            try await late.execute("COMMIT")
            await late.close()
            try await f.waitFor(.users, lateID, "late commit synced") { $0 != nil }
            try await f.waitForDrain()
        }
    }

    /// Two reads of one document, the older written last (a retry, a slow
    /// request, a second worker): the index keeps the newer state.
    @Test func anOlderStateWrittenLateNeverOverwritesANewerOne() async throws {
        try await SyncFixture.with(sync: false) { f in
            let store = PostgresChangeStore(database: f.connector, leadership: Leadership(logger: f.logger))
            let index = ElasticsearchDocumentIndex(client: f.es, indexes: f.indexes, logger: f.logger)
            let id = try await f.insertUser("ada", name: "First")
            let older = try #require(try await store.nextBatch(limit: 100, excluding: [], scope: .oldest))
            try await f.sql("UPDATE users SET name = 'Second' WHERE id = $1", [id])
            let newer = try #require(try await store.nextBatch(limit: 100, excluding: Set(older.seqs), scope: .oldest))
            #expect(newer.documents.version > older.documents.version)

            let ref = DocumentRef(.users, id)
            #expect(try await index.write(newer.documents)[ref] == .applied)
            #expect(try await index.write(older.documents)[ref] == .superseded)
            #expect(try await index.write(newer.documents)[ref] == .applied)  // a retry of the same state is harmless
            #expect(try await f.indexed(.users, id)?["name"]?.string == "Second")

            // A delete read later wins over the stale write that follows it.
            try await f.sql("DELETE FROM users WHERE id = $1", [id])
            let deletion = try #require(try await store.nextBatch(limit: 100, excluding: Set(older.seqs + newer.seqs), scope: .oldest))
            #expect(try await index.write(deletion.documents)[ref] == .applied)
            #expect(try await index.write(newer.documents)[ref] == .superseded)
            #expect(try await f.indexed(.users, id) == nil)
        }
    }

    /// Batches settled out of the order they were read (the fresh lane's
    /// batch read after a backlog batch, settled before it): the older
    /// state makes no event and is not recorded, also after a delete.
    @Test func aStateSettledAfterANewerOneMakesNoEvent() async throws {
        try await SyncFixture.with(sync: false) { f in
            let store = PostgresChangeStore(database: f.connector, leadership: Leadership(logger: f.logger))
            let id = try await f.insertUser("ada", name: "First")
            let older = try #require(try await store.nextBatch(limit: 100, excluding: [], scope: .oldest))
            try await f.sql("UPDATE users SET name = 'Second' WHERE id = $1", [id])
            let newer = try #require(try await store.nextBatch(limit: 100, excluding: Set(older.seqs), scope: .oldest))
            #expect(newer.documents.version > older.documents.version)

            let first = try await store.settle(newer, applied: newer.documents.documents, rejected: [])
            #expect(first.map(\.operation) == [.insert])
            #expect(first.first?.data.contains(#""name": "Second""#) == true, "\(first)")
            let stale = try await store.settle(older, applied: older.documents.documents, rejected: [])
            #expect(stale.isEmpty, "the older state settled second announced \(stale.map(\.operation))")
            #expect(try await f.sql("SELECT data->>'name' FROM sync.documents WHERE doc_id = $1", [id]).scalar == "Second")

            // A delete leaves a tombstone, so a state read before it and settled after it stays dead.
            try await f.sql("DELETE FROM users WHERE id = $1", [id])
            let deletion = try #require(try await store.nextBatch(limit: 100, excluding: [], scope: .oldest))
            #expect(try await store.settle(deletion, applied: deletion.documents.documents, rejected: []).map(\.operation) == [.delete])
            #expect(try await store.settle(newer, applied: newer.documents.documents, rejected: []).isEmpty,
                    "a state read before the delete, settled after it")
            #expect(try await f.sql("SELECT count(*) FROM sync.documents WHERE doc_id = $1 AND data IS NULL", [id]).scalar == "1")
        }
    }

    @Test func versionsFollowSnapshotOrderAcrossConcurrentReaders() async throws {
        try await SyncFixture.with(sync: false) { f in
            let id = try await f.insertUser("ada", name: "n0")
            let readers = 4
            let stores = (0..<readers).map { _ in PostgresChangeStore(database: f.connector, leadership: nil) }
            // Each reader repeatedly reads the user while a writer bumps a counter in its name.
            let writer = Task {
                for i in 1...60 { try await f.sql("UPDATE users SET name = $1 WHERE id = $2", ["n\(i)", id]) }
            }
            let observations = try await withThrowingTaskGroup(of: [(Int64, Int)].self) { group in
                for store in stores {
                    group.addTask {
                        var seen: [(Int64, Int)] = []
                        for _ in 0..<30 {
                            guard let batch = try await store.nextBatch(limit: 1, excluding: [], scope: .oldest) else { continue }
                            for doc in batch.documents.documents {
                                if let json = doc.json, let name = try JSONValue.parse(json)["name"]?.string, let n = Int(name.dropFirst()) {
                                    seen.append((batch.documents.version, n))
                                }
                            }
                        }
                        return seen
                    }
                }
                var all: [(Int64, Int)] = []
                for try await part in group { all += part }
                return all
            }
            try await writer.value
            // Sorted by version, the states never go back.
            let byVersion = observations.sorted { $0.0 < $1.0 }
            #expect(byVersion.count > 10)
            for (a, b) in zip(byVersion, byVersion.dropFirst()) {
                #expect(a.1 <= b.1, "version \(a.0) saw n\(a.1) but later version \(b.0) saw n\(b.1)")
            }
        }
    }

    /// The version lock covers nextval() and the start of the read (its
    /// snapshot), not the read: a claim whose read is slow leaves the lock
    /// free for the fresh lane's claim, and one that fails holding it leaves
    /// no lock behind (a leaked session lock would stop every reader).
    @Test func theVersionLockIsHeldOnlyUntilTheReadHasItsSnapshot() async throws {
        try await SyncFixture.with(sync: false) { f in
            _ = try await f.insertUser("ada")
            // Reads take a second, in this test's own database.
            try await f.sql("ALTER FUNCTION sync.read_documents(text[], bigint[]) RENAME TO read_documents_fast")
            try await f.sql("""
                CREATE FUNCTION sync.read_documents(entities text[], ids bigint[]) RETURNS TABLE (entity text, id bigint, doc jsonb)
                LANGUAGE sql VOLATILE AS $$ SELECT pg_sleep(1); SELECT * FROM sync.read_documents_fast(entities, ids) $$
                """)
            let slow = try await PostgresConnection.connect(f.databaseURL, logger: f.logger)
            let slowPID = try await slow.query("SELECT pg_backend_pid()").rows[0].int64(0)!
            let claim = Task { try await slow.query("SELECT count(*) FROM sync.next_batch(100, '{}', false, NULL, NULL)").scalar }
            try await eventually("the claim to be reading") {
                try await f.sql("SELECT wait_event FROM pg_stat_activity WHERE pid = $1", [slowPID]).scalar == "PgSleep" ? nil : "not yet"
            }
            #expect(try await f.sql("SELECT pg_try_advisory_xact_lock(7261001)").scalar == "t", "free while the claim reads")
            #expect(try await claim.value == "2", "the header and the document")
            await slow.close()

            // A claim that fails holding the lock (here nextval(), the sequence exhausted) releases it.
            try await f.sql("SELECT setval('sync.document_version', 9223372036854775807)")
            let failing = try await PostgresConnection.connect(f.databaseURL, logger: f.logger)
            await #expect(throws: (any Error).self) {
                try await failing.query("SELECT count(*) FROM sync.next_batch(100, '{}', false, NULL, NULL)")
            }
            // This test's database only: tests running beside it hold their own databases' version locks.
            #expect(try await failing.query("""
                SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7261001
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """).scalar == "0")
            #expect(try await f.sql("SELECT pg_try_advisory_xact_lock(7261001)").scalar == "t", "nothing left behind")
            await failing.close()
        }
    }
}
