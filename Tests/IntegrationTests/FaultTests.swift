import Foundation
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
            service.kill9()
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
            #expect(restarted.terminate() == 0, "SIGTERM exits cleanly")
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
}
