import Foundation
import Logging
import Model
import Postgres
import Server
import Sync
import Synchronization
import Testing

/// The seeded chaos test: writers keep changing the platform while the search
/// server is wiped, the service is killed (-9) or stopped (SIGTERM) and
/// Postgres is restarted, at random; afterwards every document in the index
/// must equal what Postgres says it should be.
///
/// `make test` runs it for HACKSYNC_CHAOS_SECONDS (default 30); `make chaos
/// DURATION=600 [SEED=n]` runs it long. The seed is printed, and the same
/// seed replays the same schedule of writes and faults (timing still varies).
extension FaultTests {
    @Test func aSeededChaosRunEndsWithEveryDocumentExact() async throws {
        let environment = TestEnvironment.env
        let seconds = environment["HACKSYNC_CHAOS_SECONDS"].flatMap(Double.init) ?? 30
        let seed = environment["HACKSYNC_CHAOS_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...999_999)
        print("chaos: seed \(seed), \(Int(seconds)) s (replay with make chaos SEED=\(seed) DURATION=\(Int(seconds)))")

        try await SyncFixture.with(sync: false) { f in
            try await f.db.execute("""
                INSERT INTO users (username, email, name) SELECT 'u' || i, 'u' || i || '@example.org', 'User ' || i FROM generate_series(1, 40) i;
                INSERT INTO hackathons (name, starts_at) SELECT 'Hack ' || i, now() FROM generate_series(1, 6) i;
                INSERT INTO projects (hackathon_id, created_by, name) SELECT 1 + i % 6, 1 + i % 40, 'Project ' || i FROM generate_series(1, 60) i;
                INSERT INTO project_members (project_id, user_id) SELECT p, 1 + (p * 7 + k) % 40 FROM generate_series(1, 60) p, generate_series(0, 2) k ON CONFLICT DO NOTHING;
                INSERT INTO hackathon_participants (hackathon_id, user_id) SELECT 1 + u % 6, u FROM generate_series(1, 40) u;
                """)
            let chaos = ChaosRun(fixture: f, seed: seed, duration: .seconds(seconds))
            let report = try await chaos.run()
            print("chaos: \(report)")
            #expect(report.mismatches == 0)
            #expect(report.unexpectedServiceExits == 0, "the service survived every fault it was not the target of")
            #expect(report.uncleanStops == 0, "SIGTERM always exits 0")
        }
    }
}

struct ChaosReport: CustomStringConvertible {
    var seed: UInt64
    var duration: Duration = .zero
    var writes = 0
    var failedWrites = 0
    var faults: [ChaosRun.Fault: Int] = [:]
    var unexpectedServiceExits = 0
    var uncleanStops = 0
    var documentsCompared = 0
    var mismatches = 0
    var convergedAfterLastFault: Duration = .zero

    var description: String {
        let faultList = ChaosRun.Fault.allCases.map { "\($0.rawValue) \(faults[$0, default: 0])" }.joined(separator: ", ")
        return "seed \(seed), \(duration.seconds) s, \(writes) writes committed (\(failedWrites) failed), faults: \(faultList); "
            + "\(documentsCompared) documents compared, \(mismatches) mismatches, converged \(convergedAfterLastFault.seconds) s after the last fault"
    }
}

extension Duration {
    var seconds: String { String(format: "%.1f", Double(components.seconds) + Double(components.attoseconds) / 1e18) }
}

final class ChaosRun: @unchecked Sendable {
    // @unchecked Sendable: `service` is only touched by the fault task, then by `run` after it ended.
    enum Fault: String, CaseIterable, Sendable {
        case wipeSearch = "search wiped"
        case killService = "service kill -9"
        case stopService = "service SIGTERM"
        case restartPostgres = "postgres restarted"
    }

    let fixture: SyncFixture
    let seed: UInt64
    let duration: Duration
    private var service: ServiceProcess?

    init(fixture: SyncFixture, seed: UInt64, duration: Duration) {
        self.fixture = fixture
        self.seed = seed
        self.duration = duration
    }

    func run() async throws -> ChaosReport {
        var report = ChaosReport(seed: seed)
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + duration
        service = try ServiceProcess(fixture: fixture)
        try await service!.start()

        let writes = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for writer in 0..<3 {
                group.addTask { try await self.write(writer: writer, until: deadline) }
            }
            var faultRandom = SplitMix64(seed: seed)
            var lastFault = start
            while clock.now < deadline {
                try await Task.sleep(for: .milliseconds(Int.random(in: 1500...4500, using: &faultRandom)))
                guard clock.now < deadline else { break }
                let fault = Fault.allCases.randomElement(using: &faultRandom)!
                try await inject(fault, into: &report, random: &faultRandom)
                report.faults[fault, default: 0] += 1
                lastFault = clock.now
            }
            var totals = (0, 0)
            for try await (committed, failed) in group {
                totals.0 += committed
                totals.1 += failed
            }
            report.duration = clock.now - start
            return (totals, lastFault)
        }
        report.writes = writes.0.0
        report.failedWrites = writes.0.1

        try await fixture.reconnect()
        do {
            try await fixture.waitForDrain(timeout: .seconds(180))
            try await fixture.waitForConvergence(timeout: .seconds(180))
        } catch {
            let jobs = try? await fixture.sql("SELECT id, entity, mode, phase, copied, error FROM sync.index_jobs ORDER BY id")
            print("chaos: did not converge; index jobs: \(jobs?.rows.map { row in (0..<6).map { row[$0] ?? "null" } } ?? [])")
            print("chaos: service log (tail): \(service?.log.suffix(6000) ?? "")")
            throw error
        }
        report.convergedAfterLastFault = clock.now - writes.1
        for entity in Entity.allCases {
            let expected = try await fixture.expectedDocuments(entity)
            let indexed = try await fixture.indexedDocuments(entity)
            report.documentsCompared += expected.count
            report.mismatches += expected.filter { indexed[$0.key] != $0.value }.count
            report.mismatches += indexed.keys.filter { expected[$0] == nil }.count
        }
        if let service, !service.isRunning { report.unexpectedServiceExits += 1 }
        if let service, await service.terminate() != 0 { report.uncleanStops += 1 }
        return report
    }

    private func inject(_ fault: Fault, into report: inout ChaosReport, random: inout SplitMix64) async throws {
        guard let current = service else { return }
        if !current.isRunning {
            report.unexpectedServiceExits += 1
            print("chaos: the service had exited: \(current.log.suffix(3000))")
        }
        switch fault {
        case .wipeSearch:
            try await TestServices.wipeSearchServer()
        case .restartPostgres:
            try await TestServices.restartPostgres()
        case .killService, .stopService:
            if fault == .killService {
                await current.kill9()
            } else if current.isRunning, await current.terminate() != 0 {
                report.uncleanStops += 1
                print("chaos: SIGTERM did not exit cleanly: \(current.log.suffix(3000))")
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...1000, using: &random)))
            let next = try ServiceProcess(fixture: fixture)
            service = next
            try await next.start()
        }
    }

    /// Random writes until the deadline; returns (committed, failed).
    private func write(writer: Int, until deadline: ContinuousClock.Instant) async throws -> (Int, Int) {
        var random = SplitMix64(seed: seed &+ UInt64(writer + 1) &* 0x9E37_79B9)
        let url = fixture.databaseURL, logger = fixture.logger
        var db = try await PostgresConnection.connect(url, logger: logger)
        var committed = 0, failed = 0, step = 0
        while ContinuousClock.now < deadline {
            step += 1
            let (sql, parameters) = Self.randomWrite(writer: writer, step: step, random: &random)
            do {
                try await db.query(sql, parameters)
                committed += 1
            } catch let error as PostgresError where error.isConnectionError {
                failed += 1
                await db.close()
                db = try await connectWhenPostgresIsBack(url, logger: logger)
            } catch {
                failed += 1  // a constraint or a deadlock between writers: Postgres said no, nothing to sync
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        await db.close()
        return (committed, failed)
    }

    static func randomWrite(writer: Int, step: Int, random: inout SplitMix64) -> (String, [(any PostgresEncodable)?]) {
        func pick(_ upTo: Int) -> Int64 { Int64.random(in: 1...Int64(upTo), using: &random) }
        let user = "(SELECT id FROM users WHERE id >= $1 ORDER BY id LIMIT 1)"
        let tag = "w\(writer)s\(step)"
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<25:
            return ("UPDATE users SET name = $2, skills = ARRAY[$2] WHERE id = \(user)", [pick(80), tag])
        case 25..<32:
            return ("INSERT INTO users (username, email, name) VALUES ($1, $1 || '@example.org', $1)", [tag])
        case 32..<35:
            return ("DELETE FROM users WHERE id = \(user)", [pick(80)])
        case 35..<45:
            return ("UPDATE hackathons SET name = $2, location = $2 WHERE id = (SELECT id FROM hackathons WHERE id >= $1 ORDER BY id LIMIT 1)", [pick(8), tag])
        case 45..<47:
            return ("INSERT INTO hackathons (name, tracks) VALUES ($1, '{chaos}')", [tag])
        case 47..<55:
            return ("INSERT INTO projects (hackathon_id, created_by, name) SELECT h.id, \(user), $3 FROM hackathons h WHERE h.id >= $2 ORDER BY h.id LIMIT 1",
                    [pick(80), pick(8), tag])
        case 55..<60:
            return ("DELETE FROM projects WHERE id = (SELECT id FROM projects WHERE id >= $1 ORDER BY id LIMIT 1)", [pick(120)])
        case 60..<72:
            return ("INSERT INTO project_members (project_id, user_id) SELECT p.id, u.id FROM (SELECT id FROM projects WHERE id >= $2 ORDER BY id LIMIT 1) p, \(user) u(id) ON CONFLICT DO NOTHING",
                    [pick(80), pick(120)])
        case 72..<80:
            return ("DELETE FROM project_members WHERE (project_id, user_id) = (SELECT project_id, user_id FROM project_members WHERE project_id >= $1 ORDER BY project_id, user_id LIMIT 1)",
                    [pick(120)])
        case 80..<87:
            return ("INSERT INTO hackathon_participants (hackathon_id, user_id) SELECT h.id, u.id FROM (SELECT id FROM hackathons WHERE id >= $2 ORDER BY id LIMIT 1) h, \(user) u(id) ON CONFLICT DO NOTHING",
                    [pick(80), pick(8)])
        case 87..<92:
            return ("DELETE FROM hackathon_participants WHERE (hackathon_id, user_id) = (SELECT hackathon_id, user_id FROM hackathon_participants WHERE user_id >= $1 ORDER BY user_id, hackathon_id LIMIT 1)",
                    [pick(80)])
        default:
            return ("UPDATE projects SET hackathon_id = h.id, name = $3 FROM (SELECT id FROM hackathons WHERE id >= $2 ORDER BY id LIMIT 1) h WHERE projects.id = (SELECT id FROM projects WHERE id >= $1 ORDER BY id LIMIT 1)",
                    [pick(120), pick(8), tag])
        }
    }
}
