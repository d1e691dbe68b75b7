import Postgres
import Server
import Sync
import Testing

@Suite(.integration) struct ConcurrencyTests {
    /// Four writers hammer an overlapping handful of rows with renames,
    /// memberships, participations and project moves while the sync runs;
    /// afterwards every document equals what Postgres says.
    @Test func fourConcurrentWritersOnOverlappingRowsConvergeExactly() async throws {
        try await SyncFixture.with { f in
            var users: [Int64] = []
            for i in 0..<6 { users.append(try await f.insertUser("user\(i)")) }
            let hackathons = [try await f.insertHackathon("H0"), try await f.insertHackathon("H1")]
            var projects: [Int64] = []
            for i in 0..<6 {
                projects.append(try await f.insertProject("P\(i)", hackathon: hackathons[i % 2], createdBy: users[i], members: [users[i]]))
            }
            let (userIDs, projectIDs) = (users, projects)
            let url = f.databaseURL
            let logger = f.logger
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        var rng = SplitMix64(seed: UInt64(writer + 1))
                        try await PostgresConnection.withConnection(url, logger: logger) { db in
                            for step in 0..<150 {
                                let user = userIDs.randomElement(using: &rng)!
                                let project = projectIDs.randomElement(using: &rng)!
                                let hackathon = hackathons.randomElement(using: &rng)!
                                switch Int.random(in: 0..<7, using: &rng) {
                                case 0: try await db.query("UPDATE users SET name = $1 WHERE id = $2", ["w\(writer)-\(step)", user])
                                case 1: try await db.query("UPDATE hackathons SET name = $1 WHERE id = $2", ["H w\(writer)-\(step)", hackathon])
                                case 2: try await db.query("INSERT INTO project_members VALUES ($1, $2) ON CONFLICT DO NOTHING", [project, user])
                                case 3: try await db.query("DELETE FROM project_members WHERE project_id = $1 AND user_id = $2", [project, user])
                                case 4: try await db.query("INSERT INTO hackathon_participants VALUES ($1, $2) ON CONFLICT DO NOTHING", [hackathon, user])
                                case 5: try await db.query("DELETE FROM hackathon_participants WHERE hackathon_id = $1 AND user_id = $2", [hackathon, user])
                                default: try await db.query("UPDATE projects SET hackathon_id = $1, name = $2 WHERE id = $3", [hackathon, "P w\(writer)-\(step)", project])
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await f.waitForDrain()
            try await f.waitForConvergence()
        }
    }
}
