import Model
import Server
import Sync
import Synchronization
import Testing

/// Read-your-writes at scale: a thousand waiters, one per transaction,
/// released together once their changes settle, by a handful of shared
/// refreshes and change-log reads, not one each.
@Suite(.integration) struct WriteWaitsTests {
    @Test func aThousandWaitersAreReleasedTogetherBySharedRefreshes() async throws {
        try await SyncFixture.with(sync: false) { f in
            // 1,000 transactions, one user each, while nothing syncs.
            try await f.sql("DO $$ BEGIN FOR i IN 1..1000 LOOP INSERT INTO users (username, email) VALUES ('w' || i, 'w' || i || '@x'); COMMIT; END LOOP; END $$")
            let xids = try await f.sql("SELECT DISTINCT xid::text FROM sync.changes WHERE processed_at IS NULL").rows.compactMap { $0.string(0).flatMap(UInt64.init) }
            #expect(xids.count == 1000)

            let refreshes = Atomic(0)
            let (es, indexes) = (f.es, f.indexes)
            let waits = WriteWaits(database: f.connector.shared(applicationName: "hacksync-test-wait"), recheckEvery: .milliseconds(100),
                                   logger: f.logger) {
                refreshes.add(1, ordering: .relaxed)
                for entity in Entity.allCases { try await es.refresh(indexes.alias(for: entity)) }
            }
            let service = Task { try await waits.run() }
            defer { service.cancel() }

            try await withThrowingTaskGroup(of: WriteWaitResult.self) { group in
                for xid in xids { group.addTask { await waits.wait(xid: xid, timeout: .seconds(30)) } }
                try await Task.sleep(for: .milliseconds(300))  // every waiter registered, each still pending
                #expect(refreshes.load(ordering: .relaxed) == 0, "nothing settled: nothing to refresh")
                try await f.startSync()
                var synced = 0
                for try await result in group {
                    if case .synced = result { synced += 1 }
                }
                #expect(synced == 1000)
            }
            print("1,000 waiters released with \(refreshes.load(ordering: .relaxed)) refreshes")
            #expect(refreshes.load(ordering: .relaxed) <= 5, "shared refreshes, not one a waiter: \(refreshes.load(ordering: .relaxed))")
            #expect(try await f.sql("SELECT count(*) FROM sync.changes WHERE processed_at IS NULL").scalar == "0")
        }
    }

    @Test func aCancelledWaitIsAnsweredAtOnceAndForgotten() async throws {
        try await SyncFixture.with(sync: false) { f in
            let xid = try await f.sql("WITH u AS (INSERT INTO users (username, email) VALUES ('c', 'c@x') RETURNING id) SELECT pg_current_xact_id()::text FROM u").scalar
            let waits = WriteWaits(database: f.connector.shared(applicationName: "hacksync-test-wait"), logger: f.logger) {}
            let service = Task { try await waits.run() }
            defer { service.cancel() }
            // Nothing syncs: only the cancellation can end this wait before its 30 s.
            let waiter = Task { await waits.wait(xid: UInt64(xid!)!, timeout: .seconds(30)) }
            try await Task.sleep(for: .milliseconds(200))
            waiter.cancel()
            #expect(await waiter.value == .cancelled)
            let another = Task { await waits.wait(xid: UInt64(xid!)!, timeout: .milliseconds(300)) }
            #expect(await another.value == .timedOut(pendingChanges: true), "the service goes on for the others")
        }
    }
}
