import Sync
import Testing

/// A change to one row rewrites every document that embeds or counts it.
@Suite(.integration) struct CascadeTests {
    struct World {
        var ada: Int64, bob: Int64, cyd: Int64
        var h1: Int64, h2: Int64
        var p1: Int64, p2: Int64
    }

    func world(_ f: SyncFixture) async throws -> World {
        let ada = try await f.insertUser("ada", name: "Ada")
        let bob = try await f.insertUser("bob", name: "Bob")
        let cyd = try await f.insertUser("cyd", name: "Cyd")
        let h1 = try await f.insertHackathon("HackWeek Berlin")
        let h2 = try await f.insertHackathon("DevJam Tokyo")
        try await f.sql("INSERT INTO hackathon_participants (hackathon_id, user_id) VALUES ($1, $2), ($1, $3), ($4, $2)", [h1, ada, bob, h2])
        let p1 = try await f.insertProject("Compass", hackathon: h1, createdBy: ada, members: [ada, bob])
        let p2 = try await f.insertProject("Ledger", hackathon: h1, createdBy: bob, members: [bob])
        try await f.waitForConvergence()
        return World(ada: ada, bob: bob, cyd: cyd, h1: h1, h2: h2, p1: p1, p2: p2)
    }

    @Test func aUserRenameRewritesEveryProjectThatEmbedsTheUser() async throws {
        try await SyncFixture.with { f in
            let w = try await world(f)
            try await f.sql("UPDATE users SET username = 'bobby', name = 'Robert' WHERE id = $1", [w.bob])
            try await f.waitFor(.projects, w.p2, "creator renamed") { $0?[path: "created_by.username"]?.string == "bobby" }
            try await f.waitFor(.projects, w.p1, "member renamed") {
                $0?["members"]?.array?.contains { $0["name"]?.string == "Robert" } == true
            }
            try await f.waitForConvergence()
        }
    }

    @Test func aHackathonRenameRewritesItsProjectsAndItsParticipants() async throws {
        try await SyncFixture.with { f in
            let w = try await world(f)
            try await f.sql("UPDATE hackathons SET name = 'HackWeek Berlin 2026' WHERE id = $1", [w.h1])
            for project in [w.p1, w.p2] {
                try await f.waitFor(.projects, project, "hackathon renamed") { $0?[path: "hackathon.name"]?.string == "HackWeek Berlin 2026" }
            }
            try await f.waitFor(.users, w.ada, "hackathon list renamed") {
                $0?["hackathons"]?.array?.first?["name"]?.string == "HackWeek Berlin 2026"
            }
            try await f.waitForConvergence()
        }
    }

    @Test func participationChangesListsAndCountsOnBothSides() async throws {
        try await SyncFixture.with { f in
            let w = try await world(f)
            try await f.sql("INSERT INTO hackathon_participants (hackathon_id, user_id) VALUES ($1, $2)", [w.h2, w.cyd])
            try await f.waitFor(.hackathons, w.h2, "participant counted") { $0?["participant_count"]?.number == 2 }
            try await f.waitFor(.users, w.cyd, "hackathon listed") { $0?["hackathons"]?.array?.count == 1 }
            try await f.sql("DELETE FROM hackathon_participants WHERE hackathon_id = $1 AND user_id = $2", [w.h1, w.ada])
            try await f.waitFor(.hackathons, w.h1, "participant removed") { $0?["participant_count"]?.number == 1 }
            try await f.waitFor(.users, w.ada, "hackathon unlisted") { $0?["hackathons"]?.array?.map { $0["id"] } == [.number(Double(w.h2))] }
            try await f.waitForConvergence()
        }
    }

    @Test func membershipChangesMembersAndProjectCounts() async throws {
        try await SyncFixture.with { f in
            let w = try await world(f)
            try await f.sql("INSERT INTO project_members (project_id, user_id) VALUES ($1, $2)", [w.p2, w.cyd])
            try await f.waitFor(.projects, w.p2, "member added") { $0?["members"]?.array?.count == 2 }
            try await f.waitFor(.users, w.cyd, "project counted") { $0?["project_count"]?.number == 1 }
            try await f.sql("DELETE FROM project_members WHERE project_id = $1 AND user_id = $2", [w.p1, w.bob])
            try await f.waitFor(.projects, w.p1, "member removed") { $0?["members"]?.array?.count == 1 }
            try await f.waitFor(.users, w.bob, "project uncounted") { $0?["project_count"]?.number == 1 }
            try await f.waitForConvergence()
        }
    }

    @Test func movingAProjectRecountsBothHackathons() async throws {
        try await SyncFixture.with { f in
            let w = try await world(f)
            try await f.sql("UPDATE projects SET hackathon_id = $1 WHERE id = $2", [w.h2, w.p2])
            try await f.waitFor(.hackathons, w.h1, "old hackathon recounted") { $0?["project_count"]?.number == 1 }
            try await f.waitFor(.hackathons, w.h2, "new hackathon recounted") { $0?["project_count"]?.number == 1 }
            try await f.waitFor(.projects, w.p2, "project re-embedded") { $0?[path: "hackathon.name"]?.string == "DevJam Tokyo" }
            try await f.waitForConvergence()
        }
    }

    @Test func deletingAUserRemovesItFromEveryDocumentThatEmbeddedIt() async throws {
        try await SyncFixture.with { f in
            let w = try await world(f)
            try await f.sql("DELETE FROM users WHERE id = $1", [w.ada])
            try await f.waitFor(.users, w.ada, "user deleted") { $0 == nil }
            try await f.waitFor(.projects, w.p1, "creator cleared and member removed") {
                $0?["created_by"] == .null && $0?["members"]?.array?.count == 1
            }
            try await f.waitFor(.hackathons, w.h1, "participant uncounted") { $0?["participant_count"]?.number == 1 }
            try await f.waitForConvergence()
        }
    }

    @Test func deletingAHackathonDeletesItsProjectsAndUnlistsItFromUsers() async throws {
        try await SyncFixture.with { f in
            let w = try await world(f)
            try await f.sql("DELETE FROM hackathons WHERE id = $1", [w.h1])
            try await f.waitFor(.projects, w.p1, "project deleted") { $0 == nil }
            try await f.waitFor(.projects, w.p2, "project deleted") { $0 == nil }
            try await f.waitFor(.users, w.bob, "hackathon unlisted, projects uncounted") {
                $0?["hackathons"]?.array?.isEmpty == true && $0?["project_count"]?.number == 0
            }
            try await f.waitForConvergence()
        }
    }

    @Test func deletingAProjectRecountsItsHackathonAndMembers() async throws {
        try await SyncFixture.with { f in
            let w = try await world(f)
            try await f.sql("DELETE FROM projects WHERE id = $1", [w.p1])
            try await f.waitFor(.projects, w.p1, "deleted") { $0 == nil }
            try await f.waitFor(.hackathons, w.h1, "recounted") { $0?["project_count"]?.number == 1 }
            try await f.waitFor(.users, w.ada, "recounted") { $0?["project_count"]?.number == 0 }
            try await f.waitForConvergence()
        }
    }
}
