import Foundation
import Logging
import Postgres
import Server
import Sync
import Testing

/// One syncer at a time: the election, the lease, and the fence in
/// `sync.settle` (triggers/R__75_leadership.sql).
@Suite(.integration) struct LeadershipTests {
    func leadership(_ f: SyncFixture, _ name: String, lease: Duration = .seconds(2)) -> Leadership {
        var configuration = Leadership.Configuration()
        configuration.instance = name
        configuration.lease = lease
        configuration.renewEvery = .milliseconds(200)
        configuration.retryEvery = .milliseconds(100)
        return Leadership(configuration: configuration, logger: f.logger)
    }

    /// A session without the leader lock may read the change log but not
    /// settle it: a deposed leader's last batch fails inside the settle
    /// transaction and marks nothing processed.
    @Test func onlyTheLeaderSettles() async throws {
        try await SyncFixture.with(sync: false) { f in
            _ = try await f.insertUser("ada")
            let outsider = PostgresChangeStore(database: f.connector, leadership: nil)
            let batch = try #require(try await outsider.nextBatch(limit: 10, excluding: [], scope: .oldest))
            do {
                _ = try await outsider.settle(batch, applied: batch.documents.documents, rejected: [])
                Issue.record("a session without the leader lock settled a batch")
            } catch let error as PostgresError {
                #expect(error.sqlState == "HSL01", "\(error)")
            }
            #expect(try await f.sql("SELECT count(*) FROM sync.changes WHERE processed_at IS NULL").scalar == "1")

            let leader = PostgresChangeStore(database: f.connector, leadership: leadership(f, "leader"))
            let claimed = try #require(try await leader.nextBatch(limit: 10, excluding: [], scope: .oldest))
            let events = try await leader.settle(claimed, applied: claimed.documents.documents, rejected: [])
            #expect(events.map(\.operation) == [.insert])
            #expect(try await f.sql("SELECT count(*) FROM sync.changes WHERE processed_at IS NULL").scalar == "0")
        }
    }

    /// The lock goes with the leader's session: when it ends (the process
    /// died), the standby leads within its retry interval, as the next epoch.
    @Test func aStandbyLeadsWhenTheLeadersSessionEnds() async throws {
        try await SyncFixture.with(sync: false) { f in
            // A lease far longer than the wait allowed below: the standby
            // must lead because the session ended, not because the lease ran out.
            let first = leadership(f, "first", lease: .seconds(60))
            let second = leadership(f, "second", lease: .seconds(60))
            let a = try await f.connector.connect(applicationName: "leader-a")
            let b = try await f.connector.connect(applicationName: "leader-b")
            defer { Task { await b.close() } }
            try await first.lead(on: a)
            #expect(first.role == .leader)
            let firstEpoch = try #require(first.epoch)

            let waiting = Task { try await second.lead(on: b) }
            try await Task.sleep(for: .milliseconds(500))
            #expect(second.role == .standby, "the second waits while the first leads")
            #expect(try await f.sql("SELECT instance FROM sync.leader").scalar == "first")

            await a.close()
            let clock = ContinuousClock()
            let start = clock.now
            try await waiting.value
            #expect(clock.now - start < .seconds(20), "led on the session's end, not after the 60 s lease")
            #expect(second.role == .leader)
            #expect(second.epoch == firstEpoch + 1)
            try await eventually("the first to notice it no longer leads") { first.role == .standby ? nil : "still leader" }
        }
    }

    /// A leader that stops renewing without its session ending (a hung
    /// process, a connection that hangs) is deposed after its lease: the
    /// standby ends its session, leads, and the old session can do nothing more.
    @Test func aLeaderThatStopsRenewingIsDeposedAndFenced() async throws {
        try await SyncFixture.with(sync: false) { f in
            let hung = try await f.connector.connect(applicationName: "hung-leader")
            defer { Task { await hung.close() } }
            // Leads once, then never renews: as a stopped process would.
            #expect(try await hung.query("SELECT leader FROM sync.try_lead('hung', '2 s')").scalar == "t")
            #expect(try await hung.query("SELECT sync.is_leader()").scalar == "t")

            let standby = leadership(f, "standby", lease: .seconds(2))
            let b = try await f.connector.connect(applicationName: "standby")
            defer { Task { await b.close() } }
            let clock = ContinuousClock()
            let start = clock.now
            try await standby.lead(on: b)
            let waited = clock.now - start
            #expect(waited >= .seconds(1), "a fresh lease is honoured (waited \(waited))")
            #expect(waited < .seconds(30), "the stale lease does not hold the standby back (waited \(waited))")
            #expect(standby.role == .leader)
            #expect(try await f.sql("SELECT instance FROM sync.leader").scalar == "standby")

            // The deposed session is gone: nothing it sends reaches the database.
            await #expect(throws: PostgresError.self) { try await hung.query("SELECT sync.assert_leader()") }
        }
    }
}
