import Foundation
import Model
import Postgres
import Search
import Server
import Sync
import Testing

/// Issue 4: dead letters, reindex, rebuild after loss, reconciliation, retention.
@Suite(.integration) struct RecoveryTests {
    @Test func aRejectedDocumentIsParkedRetriedAndResolvedWhileTheRestSyncs() async throws {
        try await SyncFixture.with { f in
            let bad = try await f.insertHackathon("Far future", startsAt: "20000-01-01T00:00:00Z")
            let good = try await f.insertHackathon("HackWeek")
            try await f.waitFor(.hackathons, good, "synced") { $0 != nil }
            let letters = DeadLetters(database: f.connector, logger: f.logger)
            try await eventually("the dead letter") { try await letters.list().count == 1 ? nil : "none yet" }
            let entry = try #require(try await letters.list().first)
            #expect(entry.entity == "hackathons" && entry.docID == bad && entry.errorType == "mapper_parsing_exception")

            // A retry of a still-bad row is refused again: one more attempt.
            _ = try await letters.retry(entry.id)
            try await eventually("the second attempt") { try await letters.show(entry.id).attempts == 2 ? nil : "not yet" }

            // Fixing the row resolves the entry by itself.
            try await f.sql("UPDATE hackathons SET starts_at = '2027-01-01' WHERE id = $1", [bad])
            try await eventually("resolution") { try await letters.show(entry.id).resolution == "synced" ? nil : "open" }
            await #expect(throws: OperationError.alreadyResolved("dead letter \(entry.id) is already resolved (synced)")) {
                try await letters.retry(entry.id)
            }
            try await f.waitForConvergence()
        }
    }

    @Test func discardingClosesAnEntryAndUnknownIdsAreNotFound() async throws {
        try await SyncFixture.with { f in
            _ = try await f.insertHackathon("Far future", startsAt: "20000-01-01T00:00:00Z")
            let letters = DeadLetters(database: f.connector, logger: f.logger)
            try await eventually("the dead letter") { try await letters.list().count == 1 ? nil : "none yet" }
            let entry = try #require(try await letters.list().first)
            #expect(try await letters.discard(entry.id).resolution == "discarded")
            #expect(try await letters.list().isEmpty)
            #expect(try await letters.list(includeResolved: true).count == 1)
            do {
                _ = try await letters.show(999_999)
                Issue.record("expected not found")
            } catch let error as OperationError {
                #expect(error == .notFound("no dead letter 999999"))
            }
        }
    }

    @Test func aReindexSwapsToACompleteNewIndexWhileWritesContinue() async throws {
        try await SyncFixture.with { f in
            let ada = try await f.insertUser("ada")
            let hackathon = try await f.insertHackathon("HackWeek")
            for i in 0..<150 { _ = try await f.insertProject("P\(i)", hackathon: hackathon, createdBy: ada, members: [ada]) }
            try await f.waitForConvergence()
            let alias = f.indexes.alias(for: .projects)
            let before = try await f.es.aliasTargets(alias)

            let writer = Task {
                for i in 0..<60 {
                    try await f.sql("UPDATE projects SET name = $1 WHERE id = (SELECT min(id) + $2 FROM projects)", ["Renamed \(i)", i])
                    if i % 10 == 0 { _ = try await f.insertProject("New \(i)", hackathon: hackathon, createdBy: ada) }
                    if i % 15 == 0 { try await f.sql("DELETE FROM projects WHERE id = (SELECT max(id) FROM projects)") }
                }
            }
            var builder = IndexBuilder(database: f.connector, client: f.es, indexes: f.indexes, logger: f.logger)
            builder.pageSize = 20
            let job = try await builder.run(.projects, mode: .reindex, reason: "test")
            try await writer.value

            #expect(job.phase == "done" && job.copied >= 140)
            let after = try await f.es.aliasTargets(alias)
            #expect(after == [job.targetIndex] && after != before)
            #expect(try await f.es.indexNames(startingWith: alias + "_v") == [job.targetIndex], "the old index is dropped")
            try await f.waitForConvergence()
        }
    }

    @Test func aKilledReindexResumesFromItsCheckpoint() async throws {
        try await SyncFixture.with { f in
            let hackathon = try await f.insertHackathon("HackWeek")
            for i in 0..<100 { _ = try await f.insertProject("P\(i)", hackathon: hackathon, createdBy: nil) }
            try await f.waitForConvergence()
            var builder = IndexBuilder(database: f.connector, client: f.es, indexes: f.indexes, logger: f.logger)
            builder.pageSize = 10
            // Stop the first runner after three pages, as kill -9 would.
            let first = Task {
                try await builder.run(.projects, mode: .reindex, reason: "test") { job in
                    if job.copied >= 30 { withUnsafeCurrentTask { $0?.cancel() } }
                }
            }
            _ = await first.result
            let checkpoint = try #require(try await f.sql("SELECT copied FROM sync.index_jobs WHERE finished_at IS NULL").rows.first?.int(0))
            #expect(checkpoint >= 30 && checkpoint < 100)
            #expect(try await f.es.aliasTargets(f.indexes.alias(for: .projects)).first?.hasSuffix("_v1") == true,
                    "the alias still points at the complete old index")

            let job = try await builder.run(.projects, mode: .reindex, reason: "resume")
            #expect(job.copied == 100, "continued from the checkpoint, copied each page once")
            try await f.waitForConvergence()
        }
    }

    @Test func aLostIndexIsRecreatedAndRefilledWithNoManualStep() async throws {
        try await SyncFixture.with(sync: false) { f in
            // Wired as in the service: the guard owns index creation.
            let indexGuard = IndexGuard(database: f.connector, client: f.es, indexes: f.indexes, logger: f.logger)
            var configuration = SyncConfiguration()
            configuration.catchUpInterval = .milliseconds(200)
            configuration.retry = RetryPolicy(base: .milliseconds(50), cap: .seconds(1))
            try await f.startSync(configuration, ensureIndexes: { try await indexGuard.ensureIndexes() })
            let guardTask = Task { try await indexGuard.run() }
            defer { guardTask.cancel() }
            let ada = try await f.insertUser("ada")
            let hackathon = try await f.insertHackathon("HackWeek")
            for i in 0..<40 { _ = try await f.insertProject("P\(i)", hackathon: hackathon, createdBy: ada, members: [ada]) }
            try await f.waitForConvergence()

            for entity in Entity.allCases {
                for index in try await f.es.aliasTargets(f.indexes.alias(for: entity)) { try await f.es.deleteIndex(index) }
            }
            try await f.sql("UPDATE users SET name = 'Ada after the loss' WHERE id = $1", [ada])
            try await f.waitForConvergence(timeout: .seconds(30))
            #expect(try await f.indexed(.users, ada)?["name"]?.string == "Ada after the loss")
        }
    }

    /// Found by the chaos test: a bulk delete aimed at a wiped alias makes the
    /// search server create a concrete index of that name, which then blocks
    /// the alias forever. Ensuring the alias removes it when it is empty.
    @Test func anIndexAutoCreatedInPlaceOfTheAliasIsReplaced() async throws {
        try await SyncFixture.with(sync: false) { f in
            let alias = f.indexes.alias(for: .projects)
            for index in try await f.es.aliasTargets(alias) { try await f.es.deleteIndex(index) }
            var request = BulkRequest()
            request.delete(from: alias, id: "1", version: 1)
            _ = try await f.es.bulk(request)
            // Elasticsearch versions differ on whether a delete auto-creates; make sure one is there.
            if try await !f.es.indexExists(alias) { try await f.es.createIndex(alias, definition: "{}") }

            let (index, created) = try await f.indexes.ensure(.projects)
            #expect(created)
            #expect(try await f.es.aliasTargets(alias) == [index])

            // One that holds documents is not ours to delete: a clear error instead.
            let users = f.indexes.alias(for: .users)
            for index in try await f.es.aliasTargets(users) { try await f.es.deleteIndex(index) }
            try await f.es.createIndex(users, definition: "{}")
            _ = try await f.es.expectSuccess(.PUT, "/\(users)/_doc/1?refresh=true", json: #"{"someone":"else"}"#)
            await #expect(throws: ElasticsearchError.self) { try await f.indexes.ensure(.users) }
        }
    }

    @Test func reconciliationFindsAndRepairsDrift() async throws {
        try await SyncFixture.with { f in
            let ada = try await f.insertUser("ada")
            let bob = try await f.insertUser("bob")
            try await f.waitForConvergence()
            // Drift the triggers cannot see: a write with triggers off, a
            // document deleted behind the sync's back.
            try await f.db.transaction { db in
                try await db.execute("SET LOCAL session_replication_role = replica")
                _ = try await db.query("UPDATE users SET name = 'Silent' WHERE id = $1", [ada])
            }
            _ = try await f.es.send(.DELETE, "/\(f.indexes.alias(for: .users))/_doc/\(bob)?refresh=true")

            let reconciler = Reconciler(database: f.connector, client: f.es, indexes: f.indexes, logger: f.logger)
            let report = try await reconciler.run([.users])
            let users = try #require(report.entities.first)
            #expect(users.different == 1 && users.missing == 1 && users.extra == 0 && users.repaired == 2)
            try await f.waitForConvergence()
            #expect(try await reconciler.run([.users]).repaired == 0, "a second pass finds nothing")
        }
    }

    @Test func retentionPrunesProcessedRowsButNeverPendingOnes() async throws {
        try await SyncFixture.with(sync: false) { f in
            for i in 0..<30 { _ = try await f.insertUser("u\(i)") }
            try await f.sql("UPDATE sync.changes SET processed_at = now() - interval '2 days' WHERE seq IN (SELECT seq FROM sync.changes ORDER BY seq LIMIT 20)")
            var policy = RetentionPolicy()
            policy.maxAge = .seconds(86400)
            policy.chunk = 7
            let maintenance = Maintenance(
                database: f.connector, retention: policy, reconcileSchedule: nil,
                reconciler: Reconciler(database: f.connector, client: f.es, indexes: f.indexes, logger: f.logger),
                logger: f.logger)
            try await maintenance.prune()
            #expect(try await f.sql("SELECT count(*) FROM sync.changes").scalar == "10")
            #expect(try await f.sql("SELECT count(*) FROM sync.changes WHERE processed_at IS NULL").scalar == "10")
            #expect(maintenance.status.snapshot.prunedChanges == 20)
        }
    }
}
