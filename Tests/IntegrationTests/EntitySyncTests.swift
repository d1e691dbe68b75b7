import Sync
import Testing

/// Insert, update and delete of each entity reach the index.
@Suite(.integration) struct EntitySyncTests {
    @Test func usersAreInsertedUpdatedAndDeleted() async throws {
        try await SyncFixture.with { f in
            let id = try await f.insertUser("ada", name: "Ada")
            try await f.waitFor(.users, id, "inserted") { $0?["name"]?.string == "Ada" }
            try await f.sql("UPDATE users SET name = 'Ada Lovelace', skills = '{math,engines}' WHERE id = $1", [id])
            try await f.waitFor(.users, id, "updated") { $0?["name"]?.string == "Ada Lovelace" }
            #expect(try await f.indexed(.users, id)?["skills"] == .array([.string("math"), .string("engines")]))
            try await f.sql("DELETE FROM users WHERE id = $1", [id])
            try await f.waitFor(.users, id, "deleted") { $0 == nil }
            try await f.waitForConvergence()
        }
    }

    @Test func hackathonsAreInsertedUpdatedAndDeleted() async throws {
        try await SyncFixture.with { f in
            let id = try await f.insertHackathon("DevJam Lagos")
            try await f.waitFor(.hackathons, id, "inserted") { $0?["name"]?.string == "DevJam Lagos" }
            #expect(try await f.indexed(.hackathons, id)?["starts_at"]?.string == "2026-05-01T09:00:00+00:00")
            try await f.sql("UPDATE hackathons SET location = 'Lagos', tracks = '{health}' WHERE id = $1", [id])
            try await f.waitFor(.hackathons, id, "updated") { $0?["location"]?.string == "Lagos" }
            try await f.sql("DELETE FROM hackathons WHERE id = $1", [id])
            try await f.waitFor(.hackathons, id, "deleted") { $0 == nil }
            try await f.waitForConvergence()
        }
    }

    @Test func projectsAreInsertedUpdatedAndDeleted() async throws {
        try await SyncFixture.with { f in
            let user = try await f.insertUser("ada")
            let hackathon = try await f.insertHackathon("HackWeek")
            let id = try await f.insertProject("Compass", hackathon: hackathon, createdBy: user, members: [user])
            // The project row and its membership are two statements: the first
            // sync may see the project without its member, so wait for both.
            try await f.waitFor(.projects, id, "inserted with its member") {
                $0?["name"]?.string == "Compass" && $0?["members"]?.array?.count == 1
            }
            let doc = try await f.indexed(.projects, id)
            #expect(doc?[path: "hackathon.name"]?.string == "HackWeek")
            #expect(doc?[path: "created_by.username"]?.string == "ada")
            try await f.sql("UPDATE projects SET name = 'Compass 2', description = 'now with maps' WHERE id = $1", [id])
            try await f.waitFor(.projects, id, "updated") { $0?["description"]?.string == "now with maps" }
            try await f.sql("DELETE FROM projects WHERE id = $1", [id])
            try await f.waitFor(.projects, id, "deleted") { $0 == nil }
            try await f.waitForConvergence()
        }
    }

    @Test func privateFieldsAreIndexedOnlyWhereTheMappingSaysSo() async throws {
        try await SyncFixture.with { f in
            let id = try await f.insertUser("ada", email: "ada@example.org")
            try await f.waitFor(.users, id, "inserted") { $0 != nil }
            #expect(try await f.indexed(.users, id)?["email"]?.string == "ada@example.org")
            let project = try await f.insertProject("P", hackathon: try await f.insertHackathon("H"), createdBy: id, members: [id])
            try await f.waitFor(.projects, project, "inserted") { $0 != nil }
            // Embedded users carry id, username and name only: never the e-mail.
            #expect(!(try await f.indexed(.projects, project)?.description.contains("ada@example.org") ?? true))
        }
    }
}
