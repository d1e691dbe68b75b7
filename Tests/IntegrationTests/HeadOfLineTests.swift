import Foundation
import Logging
import Model
import Postgres
import Server
import Sync
import Testing

/// No head-of-line blocking: while a large backlog drains, an edit made
/// meanwhile is claimed by the fresh lane (`SyncPipeline`, `FreshLane`) in a
/// small batch of its own, beside the backlog's batches, and the backlog
/// coalesces (every pending change of a claimed row comes along). The 1 s
/// p99 goal is measured by `make bench-headofline` (fresh lane on and off,
/// interleaved); this test checks the structure: each edit reaches the index
/// while thousands of the backlog's changes are still pending.
@Suite(.integration) struct HeadOfLineTests {
    @Test func editsOvertakeABacklogOfAHundredThousandChangesThatCoalesces() async throws {
        try await SyncFixture.with(sync: false) { f in
            // 20,000 new users, then 40 updates of the first 2,000 of them: 100,000 pending changes.
            try await f.sql("INSERT INTO users (username, email) SELECT 'b' || i, 'b' || i || '@x' FROM generate_series(1, 20000) i")
            for round in 1...40 {
                try await f.sql("UPDATE users SET bio = $1 WHERE id IN (SELECT id FROM users ORDER BY id LIMIT 2000)", ["round \(round)"])
            }
            let backlog = try #require(try await f.sql("SELECT count(*) FROM sync.changes WHERE processed_at IS NULL").rows.first?.int(0))
            #expect(backlog == 100_000)

            try await f.startSync()
            try await eventually("the backlog draining") {
                try await f.sql("SELECT count(*) FROM sync.changes WHERE processed_at IS NOT NULL").rows.first?.int(0) ?? 0 > 0 ? nil : "nothing settled yet"
            }
            let clock = ContinuousClock()
            var latencies: [Duration] = []
            for i in 0..<8 {
                let start = clock.now
                let id = try await f.insertUser("edit\(i)")
                try await f.waitFor(.users, id, timeout: .seconds(60), "the edit") { $0 != nil }
                latencies.append(clock.now - start)
                let left = try await f.sql("""
                    SELECT count(*) FROM sync.changes WHERE processed_at IS NULL AND tbl = 'users' AND op = 'I'
                    """).rows.first?.int(0) ?? 0
                #expect(left > 1_000, "edit \(i) reached the index only when \(left) bulk inserts were left")
            }
            let sorted = latencies.sorted()
            print("edits during a 100,000-change backlog: median \(sorted[sorted.count / 2]), max \(sorted.last!)")
            // Behind the backlog an edit would arrive only when none of the
            // bulk inserts were left: `left` above says it overtook them,
            // which no stalled CI machine can fake (a time bound could).

            try await f.waitForDrain(timeout: .seconds(120))
            let written = try #require(f.statistics).snapshot.documentsWritten
            print("the backlog of 100,008 changes (20,008 documents) took \(written) document writes")
            // 20,008 documents; without coalescing the 80,000 updates would add up to 80,000 more writes.
            #expect(written < 30_000, "\(written) document writes for 100,008 changes")
            try await f.waitForConvergence(timeout: .seconds(60))
        }
    }

    /// The fresh lane's claims take what the backlog's claim leaves: above
    /// a horizon, or, beside a backlog claim still reading, beyond the
    /// oldest changes that claim takes; newest first, never coalesced.
    @Test func freshClaimsTakeOnlyWhatTheBacklogClaimLeaves() async throws {
        try await SyncFixture.with(sync: false) { f in
            let store = PostgresChangeStore(database: f.connector, leadership: nil)
            try await f.sql("INSERT INTO users (username, email) SELECT 'u' || i, 'u' || i || '@x' FROM generate_series(1, 10) i")
            let seqs = try await f.sql("SELECT seq FROM sync.changes WHERE processed_at IS NULL ORDER BY seq").rows.compactMap { $0.int64(0) }
            #expect(seqs.count == 10)

            let beside = try #require(try await store.nextBatch(limit: 3, excluding: [], scope: .newestBeyondOldest(4)))
            #expect(beside.seqs == Array(seqs[7...]), "the newest three")
            let rest = try #require(try await store.nextBatch(limit: 10, excluding: Set(beside.seqs), scope: .newestBeyondOldest(4)))
            #expect(rest.seqs == Array(seqs[4...6]), "never the oldest four")
            #expect(try await store.nextBatch(limit: 10, excluding: Set(beside.seqs + rest.seqs), scope: .newestBeyondOldest(4)) == nil)
            #expect(try await store.nextBatch(limit: 10, excluding: [], scope: .newestBeyondOldest(10)) == nil,
                    "a claim that takes everything pending leaves the fresh lane nothing")

            let above = try #require(try await store.nextBatch(limit: 10, excluding: [], scope: .above(seqs[8])))
            #expect(above.seqs == [seqs[9]])
            #expect(above.horizon == seqs[9])
        }
    }
}
