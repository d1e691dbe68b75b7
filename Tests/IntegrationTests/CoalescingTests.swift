import Sync
import Testing

/// The log says which documents changed; their content is read at sync time.
@Suite(.integration) struct CoalescingTests {
    @Test func aBurstOfUpdatesToOneRowBecomesOneWriteOfTheLatestState() async throws {
        try await SyncFixture.with(sync: false) { f in
            let id = try await f.insertUser("ada")
            for i in 1...100 {
                try await f.sql("UPDATE users SET name = $1 WHERE id = $2", ["Ada \(i)", id])
            }
            #expect(try await f.sql("SELECT count(*) FROM sync.changes").scalar == "101")

            try await f.startSync()
            try await f.waitForDrain()
            let stats = try await f.settledStatistics()
            #expect(stats.changesSynced == 101)
            #expect(stats.documentsWritten == 1)
            #expect(try await f.indexed(.users, id)?["name"]?.string == "Ada 100")
        }
    }

    @Test func aDocumentTouchedByManyTablesInOneBatchIsWrittenOnce() async throws {
        try await SyncFixture.with(sync: false) { f in
            let ada = try await f.insertUser("ada")
            let hackathon = try await f.insertHackathon("HackWeek")
            let project = try await f.insertProject("Compass", hackathon: hackathon, createdBy: ada, members: [ada])
            try await f.sql("UPDATE users SET name = 'Ada L' WHERE id = $1", [ada])
            try await f.sql("UPDATE hackathons SET name = 'HackWeek 2' WHERE id = $1", [hackathon])
            try await f.sql("UPDATE projects SET name = 'Compass 2' WHERE id = $1", [project])

            try await f.startSync()
            try await f.waitForDrain()
            // One write per document: the user, the hackathon, the project.
            #expect(try await f.settledStatistics().documentsWritten == 3)
            try await f.waitForConvergence()
        }
    }
}
