import Foundation
import Logging
import Postgres
import Sync
import Testing

/// Invariant 1 under faults: every committed write reaches the index.
/// Serialized: the search-server hang stalls every client of that server.
@Suite(.integration, .serialized) struct FaultTests {
    @Test func killingTheServiceWithSIGKILLLosesNoChange() async throws {
        try await SyncFixture.with(sync: false) { f in
            let service = try ServiceProcess(fixture: f)
            try await service.start()
            let ada = try await f.insertUser("ada")
            let hackathon = try await f.insertHackathon("HackWeek")
            let project = try await f.insertProject("Compass", hackathon: hackathon, createdBy: ada, members: [ada])
            try await f.waitForConvergence()

            // Kill mid-stream: writes keep coming, some batches are in flight.
            let writer = Task {
                for i in 0..<200 { try await f.sql("UPDATE users SET name = $1 WHERE id = $2", ["Ada \(i)", ada]) }
            }
            try await Task.sleep(for: .milliseconds(100))
            await service.kill9()
            try await writer.value

            // While the service is down.
            let bob = try await f.insertUser("bob")
            try await f.sql("INSERT INTO project_members VALUES ($1, $2)", [project, bob])
            try await f.sql("UPDATE hackathons SET name = 'HackWeek 2' WHERE id = $1", [hackathon])
            let doomed = try await f.insertUser("doomed")
            try await f.sql("DELETE FROM users WHERE id = $1", [doomed])

            let restarted = try ServiceProcess(fixture: f)
            try await restarted.start()
            try await f.waitForDrain()
            try await f.waitForConvergence()
            #expect(try await f.indexed(.users, ada)?["name"]?.string == "Ada 199")
            #expect(await restarted.terminate() == 0, "SIGTERM exits cleanly")
        }
    }

    @Test func aHungSearchServerDelaysButLosesNothing() async throws {
        let pidFile = try #require(TestEnvironment.searchPIDFile, "HACKSYNC_SEARCH_PID_FILE is not set")
        let pid = try #require(pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        try await SyncFixture.with { f in
            let ada = try await f.insertUser("ada")
            try await f.waitFor(.users, ada, "synced") { $0 != nil }

            kill(pid, SIGSTOP)
            do {
                for i in 0..<50 { try await f.sql("UPDATE users SET name = $1 WHERE id = $2", ["Ada \(i)", ada]) }
                let hackathon = try await f.insertHackathon("During the hang")
                _ = try await f.insertProject("Written while stopped", hackathon: hackathon, createdBy: ada, members: [ada])
                try await Task.sleep(for: .seconds(4))
                #expect(try await f.sql("SELECT count(*) > 0 FROM sync.changes WHERE processed_at IS NULL").scalar == "t",
                        "changes wait in the log while the index hangs")
            } catch {
                kill(pid, SIGCONT)
                throw error
            }
            kill(pid, SIGCONT)
            try await f.waitForDrain(timeout: .seconds(60))
            try await f.waitForConvergence()
            #expect(try await f.indexed(.users, ada)?["name"]?.string == "Ada 49")
        }
    }

    @Test func aPostgresRestartIsSurvivedAndNothingIsLost() async throws {
        // The catch-up scan is slowed to a minute: only the listener, connected
        // again, can make changes sync within seconds after the restart.
        try await SyncFixture.with(configure: { $0.catchUpInterval = .seconds(60) }) { f in
            let statistics = try #require(f.statistics)
            let ada = try await f.insertUser("ada")
            try await f.waitFor(.users, ada, timeout: .seconds(10), "synced") { $0 != nil }

            let url = f.databaseURL, logger = f.logger
            let writer = Task {
                var committed = 0
                var db = try await PostgresConnection.connect(url, logger: logger)
                for i in 0..<200 {
                    do {
                        try await db.query("UPDATE users SET name = $1 WHERE id = $2", ["Ada \(i)", ada])
                        committed += 1
                    } catch {
                        await db.close()
                        db = try await connectWhenPostgresIsBack(url, logger: logger)
                    }
                }
                await db.close()
                return committed
            }
            try await Task.sleep(for: .milliseconds(100))
            try await TestServices.restartPostgres()
            let committed = try await writer.value
            try await f.reconnect()

            try await eventually(timeout: .seconds(20), "the listener to connect again") {
                statistics.snapshot.listenerConnections >= 2 ? nil : "\(statistics.snapshot.listenerConnections) connections"
            }
            // Changes committed around the restart are caught up on reconnect, not by the slow scan.
            try await f.waitForDrain(timeout: .seconds(20))
            let bob = try await f.insertUser("bob")
            try await f.waitFor(.users, bob, timeout: .seconds(20), "synced through a notification") { $0 != nil }
            try await f.waitForConvergence()
            #expect(committed > 0)
            #expect(try await f.indexed(.users, ada)?["name"] == f.expectedDocuments(.users)[ada]?["name"])
        }
    }

    @Test func sigtermMidBatchExitsCleanlyAndLosesNoChange() async throws {
        try await SyncFixture.with(sync: false) { f in
            var users: [Int64] = []
            for i in 0..<20 { users.append(try await f.insertUser("user\(i)")) }
            let hackathon = try await f.insertHackathon("Burst")
            for i in 0..<60 {
                _ = try await f.insertProject("P\(i)", hackathon: hackathon, createdBy: users[i % 20], members: [users[i % 20], users[(i + 1) % 20]])
            }
            let service = try ServiceProcess(fixture: f)
            try await service.start()
            try await f.waitForDrain()

            // A burst of renames, each rewriting the user and ~6 projects: batches are in flight.
            let url = f.databaseURL, logger = f.logger, ids = users
            let writer = Task {
                try await PostgresConnection.withConnection(url, logger: logger) { db in
                    for round in 0..<15 {
                        for user in ids { try await db.query("UPDATE users SET name = $1 WHERE id = $2", ["r\(round)", user]) }
                    }
                }
            }
            try await eventually(timeout: .seconds(20), "the burst to be partly synced") {
                let counts = try await f.sql("SELECT count(*) FILTER (WHERE processed_at IS NULL), count(*) FILTER (WHERE processed_at IS NOT NULL) FROM sync.changes")
                let pending = counts.rows[0].int64(0) ?? 0, done = counts.rows[0].int64(1) ?? 0
                return pending > 0 && done > 100 ? nil : "\(pending) pending, \(done) processed"
            }
            let clock = ContinuousClock()
            let stopStart = clock.now
            let status = await service.terminate()
            let stopTime = clock.now - stopStart
            try await writer.value
            #expect(status == 0, "SIGTERM exits cleanly: \(service.log.suffix(1500))")
            #expect(stopTime < .seconds(10), "the batch in flight is finished or abandoned promptly: \(stopTime)")

            let restarted = try ServiceProcess(fixture: f)
            try await restarted.start()
            try await f.waitForDrain()
            try await f.waitForConvergence()
            #expect(await restarted.terminate() == 0)
        }
    }
}

/// A new connection once Postgres accepts them again (after a restart).
func connectWhenPostgresIsBack(_ url: String, logger: Logger) async throws -> PostgresConnection {
    let deadline = ContinuousClock.now + .seconds(30)
    while true {
        do {
            return try await PostgresConnection.connect(url, logger: logger)
        } catch {
            guard ContinuousClock.now < deadline else { throw error }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
