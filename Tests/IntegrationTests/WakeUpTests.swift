import Foundation
import Model
import Postgres
import Server
import Sync
import Synchronization
import Testing

/// Far beyond every timeout below: a change that arrives at all was not
/// left for the catch-up scan.
private let catchUpNeverInThisTest = Duration.seconds(3600)

/// The wake-up protocol (triggers/R__00_common.sql): captures NOTIFY only
/// while the syncer sleeps armed, and no change waits for the catch-up scan.
@Suite(.integration) struct WakeUpTests {

    @Test func withNoSyncerWaitingWritesSendNoNotification() async throws {
        try await SyncFixture.with(sync: false) { f in
            let counter = try await NotificationCounter.listening(to: f.databaseURL, logger: f.logger)
            for i in 0..<20 { _ = try await f.insertUser("u\(i)") }
            try await f.sql("UPDATE users SET bio = 'hello'")
            #expect(try await counter.settledCount() == 0)
            #expect(try await f.sql("SELECT count(*) FROM sync.changes").scalar == "40")
            await counter.close()
        }
    }

    @Test func whileASyncerSleepsArmedEveryCapturingTransactionNotifiesOnce() async throws {
        try await SyncFixture.with(sync: false) { f in
            let counter = try await NotificationCounter.listening(to: f.databaseURL, logger: f.logger)
            let syncer = try await PostgresConnection.connect(f.databaseURL, applicationName: "armed", logger: f.logger)
            #expect(try await syncer.query("SELECT sync.arm_wakeup()").scalar == "armed")
            // Two statements, 51 rows, one transaction: one notification.
            try await f.db.execute("BEGIN")
            try await f.sql("INSERT INTO users (username, email) SELECT 'a' || g, 'a' || g || '@x' FROM generate_series(1, 50) g")
            _ = try await f.insertUser("alice")
            try await f.db.execute("COMMIT")
            _ = try await f.insertUser("bob")
            try await f.sql("UPDATE users SET updated_at = now()")  // no document column: no capture, no notification
            try await eventually("two notifications") { counter.count >= 2 ? nil : "\(counter.count)" }
            #expect(try await counter.settledCount() == 2)

            // Something is pending now: arming refuses and keeps nothing.
            try await syncer.query("SELECT sync.disarm_wakeup()")
            #expect(try await syncer.query("SELECT sync.arm_wakeup()").scalar == "pending")
            _ = try await f.insertUser("carol")
            #expect(try await counter.settledCount() == 2, "disarmed: no notification")
            await syncer.close()
            await counter.close()
        }
    }

    @Test func anOpenCapturingTransactionKeepsTheSyncerFromArming() async throws {
        try await SyncFixture.with(sync: false) { f in
            let syncer = try await PostgresConnection.connect(f.databaseURL, applicationName: "armed", logger: f.logger)
            let writer = try await PostgresConnection.connect(f.databaseURL, applicationName: "writer", logger: f.logger)
            try await writer.execute("BEGIN")
            try await writer.query("INSERT INTO users (username, email) VALUES ('slow', 'slow@x')")
            #expect(try await syncer.query("SELECT sync.arm_wakeup()").scalar == "writers")
            try await writer.execute("COMMIT")
            #expect(try await syncer.query("SELECT sync.arm_wakeup()").scalar == "pending")
            await writer.close()
            await syncer.close()
        }
    }

    @Test func afterAnIdlePeriodASingleWriteWakesTheSyncerAtOnce() async throws {
        try await SyncFixture.with(configure: { $0.catchUpInterval = catchUpNeverInThisTest }) { f in
            let counter = try await NotificationCounter.listening(to: f.databaseURL, logger: f.logger)
            try await waitUntilArmed(f)
            let id = try await f.insertUser("ada")
            // No wall-clock bound (CI machines stall for seconds): the scan is
            // an hour away, so arriving at all means the NOTIFY woke the syncer.
            try await f.waitFor(.users, id, timeout: .seconds(60), "woken by the NOTIFY") { $0 != nil }
            #expect(try await counter.settledCount() >= 1)
            await counter.close()
        }
    }

    /// The window the protocol exists for: a change committed after the
    /// engine's last empty claim and before it armed. Its capture found
    /// nobody waiting and sent no NOTIFY; only the look after arming can
    /// find it. The catch-up scan is an hour away, so only that look
    /// explains an arrival.
    @Test func aChangeCommittedWhileTheEngineGoesToSleepIsNotLeftForTheCatchUpScan() async throws {
        let interposer = ArmingInterposer()
        try await SyncFixture.with(configure: { $0.catchUpInterval = catchUpNeverInThisTest }, store: interposer.wrap) { f in
            let ada = try await f.insertUser("ada")
            try await f.waitFor(.users, ada, timeout: .seconds(60), "indexed") { $0 != nil }

            let writer = try await PostgresConnection.connect(f.databaseURL, applicationName: "writer", logger: f.logger)
            interposer.beforeNextArming { try await writer.query("UPDATE users SET name = 'Committed While Arming' WHERE id = $1", [ada]) }
            _ = try await f.insertUser("bob")  // wakes the engine if it already sleeps; it arms again after bob
            try await f.waitFor(.users, ada, timeout: .seconds(60), "renamed") { $0?["name"]?.string == "Committed While Arming" }
            #expect(interposer.results == [.pending])
            await writer.close()
        }
    }

    /// The same window with the writer's transaction still open when the
    /// engine arms: arming must not succeed (the writer decided not to
    /// notify), and the change arrives as soon as the writer commits.
    @Test func aChangeStillUncommittedWhenTheEngineArmsArrivesWhenItCommits() async throws {
        let interposer = ArmingInterposer()
        try await SyncFixture.with(configure: { $0.catchUpInterval = catchUpNeverInThisTest }, store: interposer.wrap) { f in
            let ada = try await f.insertUser("ada")
            try await f.waitFor(.users, ada, timeout: .seconds(60), "indexed") { $0 != nil }

            let writer = try await PostgresConnection.connect(f.databaseURL, applicationName: "writer", logger: f.logger)
            interposer.beforeNextArming(
                { try await writer.execute("BEGIN"); try await writer.query("UPDATE users SET name = 'Open While Arming' WHERE id = $1", [ada]) },
                after: { try await writer.execute("COMMIT") })
            _ = try await f.insertUser("bob")
            try await f.waitFor(.users, ada, timeout: .seconds(60), "renamed") { $0?["name"]?.string == "Open While Arming" }
            #expect(interposer.results == [.writersInFlight])
            await writer.close()
        }
    }

    /// The cost side: under a sustained write load the engine stays awake
    /// and captures almost never NOTIFY.
    @Test func aSustainedWriteLoadSendsFewNotifications() async throws {
        try await SyncFixture.with { f in
            let ids = try await f.sql("INSERT INTO users (username, email) SELECT 'w' || g, 'w' || g || '@x' FROM generate_series(1, 200) g RETURNING id")
                .rows.compactMap { $0.int64(0) }
            try await f.waitForDrain()
            let counter = try await NotificationCounter.listening(to: f.databaseURL, logger: f.logger)
            let writers = 4, transactions = 400
            try await withThrowingTaskGroup(of: Void.self) { group in
                for w in 0..<writers {
                    group.addTask {
                        let connection = try await PostgresConnection.connect(f.databaseURL, applicationName: "writer\(w)", logger: f.logger)
                        for i in 0..<transactions {
                            try await connection.query("UPDATE users SET bio = $1 WHERE id = $2", ["w\(w) \(i)", ids[(w * 50 + i) % ids.count]])
                        }
                        await connection.close()
                    }
                }
                try await group.waitForAll()
            }
            try await f.waitForConvergence()
            let notifications = try await counter.settledCount()
            let total = writers * transactions
            // The engine arms only after 14 ms without work; at the start and the end of
            // the load it may be armed once or twice, and each time a few writers notify.
            #expect(notifications * 20 <= total, "\(notifications) NOTIFYs for \(total) transactions")
            await counter.close()
        }
    }
}

/// Waits until the test database's syncer sleeps armed: it holds the
/// wake-up lock (R__00_common.sql) exclusively.
func waitUntilArmed(_ f: SyncFixture) async throws {
    try await eventually("the syncer to arm") {
        try await f.sql("""
            SELECT EXISTS (SELECT 1 FROM pg_locks
                           WHERE locktype = 'advisory' AND classid = 0 AND objid = 7261004 AND objsubid = 1
                             AND mode = 'ExclusiveLock' AND granted
                             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
            """).scalar == "t" ? nil : "not armed"
    }
}

/// Wraps the engine's store and runs a step of the test right before the
/// engine's next attempt to arm the wake-up: the race window, made wide.
final class ArmingInterposer: Sendable {
    typealias Step = @Sendable () async throws -> Void
    private let pending = Mutex<(before: Step, after: Step)?>(nil)
    private let recorded = Mutex<[WakeUpArming]>([])

    func beforeNextArming(_ before: @escaping Step, after: @escaping Step = {}) {
        pending.withLock { $0 = (before, after) }
    }

    /// What arming answered after a step ran.
    var results: [WakeUpArming] { recorded.withLock { $0 } }

    var wrap: @Sendable (any ChangeStore) -> any ChangeStore {
        { store in Store(inner: store, interposer: self) }
    }

    struct Store: ChangeStore {
        let inner: any ChangeStore
        let interposer: ArmingInterposer

        func nextBatch(limit: Int, excluding: Set<Int64>, scope: ClaimScope) async throws -> ChangeBatch? {
            try await inner.nextBatch(limit: limit, excluding: excluding, scope: scope)
        }

        func armWakeUp() async throws -> WakeUpArming {
            guard let step = interposer.pending.withLock({ p in defer { p = nil }; return p }) else {
                return try await inner.armWakeUp()
            }
            try await step.before()
            let result = try await inner.armWakeUp()
            interposer.recorded.withLock { $0.append(result) }
            try await step.after()
            return result
        }

        func settle(_ batch: ChangeBatch, applied: [DocumentState], rejected: [RejectedDocument]) async throws -> [DocumentEvent] {
            try await inner.settle(batch, applied: applied, rejected: rejected)
        }
    }
}
