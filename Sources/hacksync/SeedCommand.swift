import ArgumentParser
import Foundation
import Postgres
import Server

/// `hacksync seed`: demo data through the capture triggers, or with
/// `--bulk` millions of rows set-based with capture off (index them with
/// `hacksync reindex` afterwards).
struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Insert realistic demo data.",
        discussion: """
            Without --bulk the rows go through the capture triggers, and the running service
            syncs them like any write. With --bulk (for scale tests: millions of rows) they are
            generated inside Postgres with capture off for this session (needs a superuser);
            run `hacksync reindex` afterwards to bring them into the index.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Number of users. Default: 200, with --bulk 1000000.") var users: Int?
    @Option(help: "Number of hackathons. Default: 12, with --bulk 2000.") var hackathons: Int?
    @Option(help: "Number of projects. Default: 300, with --bulk 2000000.") var projects: Int?
    @Option(help: "Random seed (same seed, same data).") var seed: UInt64 = 42
    @Flag(help: "Set-based, capture off: millions of rows at Postgres speed; reindex afterwards.") var bulk = false

    func validate() throws {
        for (name, value) in [("users", users), ("hackathons", hackathons), ("projects", projects)] {
            if let value, value < 0 { throw ValidationError("--\(name) must not be negative") }
        }
    }

    func run() async throws {
        let logger = try common.makeLogger("hacksync.seed")
        let connector = try common.connector(logger: logger)
        guard bulk else {
            var seeder = DemoSeeder()
            seeder.users = users ?? seeder.users
            seeder.hackathons = hackathons ?? seeder.hackathons
            seeder.projects = projects ?? seeder.projects
            seeder.seed = seed
            let counts = try await connector.withConnection(applicationName: "hacksync-seed", queryTimeout: nil) { try await seeder.run($0, logger: logger) }
            print("seeded \(counts)")
            return
        }
        var seeder = BulkSeeder()
        seeder.users = users ?? seeder.users
        seeder.hackathons = hackathons ?? seeder.hackathons
        seeder.projects = projects ?? seeder.projects
        seeder.seed = seed
        let bar = ProgressBar(label: "seed")
        let counts = try await seeder.run(connector, logger: logger) { progress in
            bar.show(done: Int64(progress.done), total: Int64(progress.total),
                     rate: Double(progress.done) / max(progress.elapsed / .seconds(1), 0.001), label: progress.table)
        }
        bar.clear()
        print("seeded \(counts)")
        let settled = try await ContinuousClock().measure {
            try await connector.withConnection(applicationName: "hacksync-seed", queryTimeout: nil) { try await BulkSeeder.settle($0) }
        }
        print(String(format: "vacuumed and analyzed in %.1f s", settled / .seconds(1)))
        print("capture was off: run `hacksync reindex` to index them")
    }
}
