import Foundation
import Logging
import Model
import Postgres
import Server
import Sync
import Synchronization
import Testing

/// `hacksync seed --bulk`: set-based rows with capture off, then a reindex
/// brings every document into the index.
@Suite(.integration) struct BulkSeedTests {
    @Test func aBulkSeedCapturesNothingAndAReindexIndexesEveryDocument() async throws {
        try await SyncFixture.with(sync: false) { f in
            var seeder = BulkSeeder()
            seeder.users = 2_500
            seeder.hackathons = 7
            seeder.projects = 4_000
            seeder.chunk = 1_000
            let progress = ProgressLog()
            let counts = try await seeder.run(f.connector, logger: f.logger) { progress.append($0.table, $0.done) }
            try await f.connector.withConnection(applicationName: "seed") { try await BulkSeeder.settle($0) }
            #expect(counts.users == 2_500 && counts.hackathons == 7 && counts.projects == 4_000)
            #expect(counts.participants == 2_500, "every user takes part in one hackathon")
            #expect(counts.members >= 4_000 && counts.members <= 16_000, "one to four members per project: \(counts.members)")
            #expect(progress.entries.filter { $0.0 == "users" }.map(\.1) == [1_000, 2_000, 2_500], "a progress report per chunk")
            #expect(try await f.sql("SELECT count(*) FROM sync.changes").scalar == "0", "capture was off")

            // Consistent by construction although no foreign key was checked.
            #expect(try await f.sql("""
                SELECT (SELECT count(*) FROM projects p LEFT JOIN hackathons h ON h.id = p.hackathon_id WHERE h.id IS NULL)
                     + (SELECT count(*) FROM project_members m LEFT JOIN users u ON u.id = m.user_id WHERE u.id IS NULL)
                     + (SELECT count(*) FROM projects p WHERE NOT EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id))
                """).scalar == "0")
            let sample = try await f.sql("SELECT md5(string_agg(username || name || coalesce(college, ''), ',' ORDER BY id)) FROM users").scalar
            // New rows after the seed take ids past it, through the triggers again.
            let newUser = try await f.insertUser("after.seed")
            #expect(newUser == 2_501)
            #expect(try await f.sql("SELECT count(*) FROM sync.changes").scalar == "1")

            let builder = IndexBuilder(database: f.connector, client: f.es, indexes: f.indexes, logger: f.logger)
            for entity in Entity.allCases {
                let job = try await builder.run(entity, mode: .reindex, reason: "test")
                #expect(job.phase == "done")
            }
            for (entity, expected) in [(Entity.users, 2_501), (.hackathons, 7), (.projects, 4_000)] {
                try await f.es.refresh(f.indexes.alias(for: entity))
                #expect(try await f.es.count(f.indexes.alias(for: entity)) == expected, "\(entity)")
            }
            let project = try #require(try await f.indexed(.projects, 17))
            #expect((project["members"]?.array?.count ?? 0) >= 1)
            #expect(project["hackathon"]?["name"]?.string?.isEmpty == false)

            // Determinism: a second database seeded alike holds the same users.
            try await SyncFixture.with(sync: false) { g in
                var again = seeder
                again.projects = 0
                _ = try await again.run(g.connector, logger: g.logger)
                #expect(try await g.sql("SELECT md5(string_agg(username || name || coalesce(college, ''), ',' ORDER BY id)) FROM users WHERE id <= 2500").scalar == sample)
            }
        }
    }
}

final class ProgressLog: Sendable {
    private let state = Mutex<[(String, Int)]>([])
    func append(_ table: String, _ done: Int) { state.withLock { $0.append((table, done)) } }
    var entries: [(String, Int)] { state.withLock { $0 } }
}
