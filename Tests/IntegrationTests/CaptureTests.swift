import Postgres
import Sync
import Testing

/// The triggers alone: what lands in the change log, and what does not.
@Suite(.integration) struct CaptureTests {
    func changes(_ f: SyncFixture) async throws -> [String] {
        try await f.sql("SELECT tbl || ':' || op::text || ':' || key1 || coalesce(':' || key2, '') || coalesce(' ' || cols::text, '') FROM sync.changes ORDER BY seq")
            .rows.map { $0[0]! }
    }

    @Test func columnsNoDocumentUsesProduceNoChanges() async throws {
        try await SyncFixture.with(sync: false) { f in
            let user = try await f.insertUser("ada")
            let hackathon = try await f.insertHackathon("HackWeek")
            let project = try await f.insertProject("Compass", hackathon: hackathon, createdBy: user, members: [user])
            try await f.sql("INSERT INTO hackathon_participants (hackathon_id, user_id) VALUES ($1, $2)", [hackathon, user])
            try await f.sql("DELETE FROM sync.changes")

            try await f.sql("UPDATE users SET updated_at = now() + interval '1 day'")
            try await f.sql("UPDATE hackathons SET updated_at = now() + interval '1 day'")
            try await f.sql("UPDATE projects SET updated_at = now() + interval '1 day'")
            try await f.sql("UPDATE project_members SET role = 'lead', joined_at = now() - interval '1 day'")
            try await f.sql("UPDATE hackathon_participants SET joined_at = now() - interval '1 day'")
            try await f.sql("UPDATE users SET name = name")  // same value: nothing changed
            #expect(try await changes(f) == [])

            try await f.sql("UPDATE users SET bio = 'hello', updated_at = now()")
            try await f.sql("UPDATE projects SET description = 'maps' WHERE id = $1", [project])
            #expect(try await changes(f) == ["users:U:\(user) {bio}", "projects:U:\(project) {description}"])
        }
    }

    @Test func foreignKeyCascadesAreCapturedOnTheirOwnTables() async throws {
        try await SyncFixture.with(sync: false) { f in
            let ada = try await f.insertUser("ada")
            let bob = try await f.insertUser("bob")
            let hackathon = try await f.insertHackathon("HackWeek")
            let project = try await f.insertProject("Compass", hackathon: hackathon, createdBy: ada, members: [ada, bob])
            try await f.sql("DELETE FROM sync.changes")
            try await f.sql("DELETE FROM users WHERE id = $1", [ada])
            let log = try await changes(f)
            #expect(log.contains("users:D:\(ada)"))
            #expect(log.contains("project_members:D:\(project):\(ada)"))
            #expect(log.contains("projects:U:\(project) {created_by}"))
        }
    }

    @Test func movingAJoinRowIsADeleteAndAnInsert() async throws {
        try await SyncFixture.with(sync: false) { f in
            let ada = try await f.insertUser("ada")
            let bob = try await f.insertUser("bob")
            let hackathon = try await f.insertHackathon("HackWeek")
            let project = try await f.insertProject("Compass", hackathon: hackathon, createdBy: ada, members: [ada])
            try await f.sql("DELETE FROM sync.changes")
            try await f.sql("UPDATE project_members SET user_id = $1 WHERE project_id = $2", [bob, project])
            #expect(Set(try await changes(f)) == ["project_members:D:\(project):\(ada)", "project_members:I:\(project):\(bob)"])
        }
    }

    @Test func anUpdateThatChangesAnIdIsADeleteAndAnInsert() async throws {
        try await SyncFixture.with(sync: false) { f in
            let ada = try await f.insertUser("ada")
            let hackathon = try await f.insertHackathon("HackWeek")
            let project = try await f.insertProject("Compass", hackathon: hackathon, createdBy: nil)
            try await f.sql("DELETE FROM sync.changes")
            try await f.sql("UPDATE users SET id = 9000 WHERE id = $1", [ada])
            try await f.sql("UPDATE projects SET id = 9001 WHERE id = $1", [project])
            #expect(try await changes(f) == ["users:D:\(ada)", "users:I:9000", "projects:D:\(project)", "projects:I:9001"])
            #expect(try await f.sql("SELECT old_ref, new_ref FROM sync.changes WHERE tbl = 'projects' ORDER BY seq").rows.map { [$0[0], $0[1]] }
                    == [["\(hackathon)", nil], [nil, "\(hackathon)"]])
        }
    }

    @Test func aBulkUpdateCapturesOnlyTheRowsWhoseDocumentColumnsChanged() async throws {
        try await SyncFixture.with(sync: false) { f in
            try await f.sql("INSERT INTO users (username, email, college) SELECT 'u' || g, 'u' || g || '@x', 'MIT' FROM generate_series(1, 10) g")
            try await f.sql("DELETE FROM sync.changes")
            try await f.sql("UPDATE users SET college = 'MIT', updated_at = now()")  // same value everywhere: nothing
            try await f.sql("UPDATE users SET college = CASE WHEN id % 2 = 0 THEN 'ETH' ELSE college END")
            let log = try await changes(f)
            #expect(log.count == 5)
            #expect(log.allSatisfy { $0.hasPrefix("users:U:") && $0.hasSuffix(" {college}") })
        }
    }
}
