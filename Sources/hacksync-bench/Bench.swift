import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Postgres
import Search
import Synchronization
import WebSocket

/// Benchmarks that can be rerun: `scripts/bench.sh` starts the servers and a
/// release `hacksync serve`, then runs this.
///
///   hacksync-bench latency [samples]      commit → visible in Elasticsearch, single updates
///   hacksync-bench bulk-insert [rows]     INSERT … SELECT throughput with and without capture triggers
///   hacksync-bench subscribers WS_URL [n] [rounds] [BROADCAST_URL]   commit (or a POST to a
///                                         peer's broadcast endpoint) → event at n WebSocket subscribers
///   hacksync-bench echo WS_URL [connections] [messages] [bytes]   echo round trips, one message in flight per connection
///   hacksync-bench admin-load URL [connections] [seconds]   requests/s and latency of one admin endpoint
///   hacksync-bench replication-lag SUBSCRIBER_URL [seconds]   commit on the source → visible on the subscriber
@main
struct Bench {
    static func main() async throws {
        let env = ProcessInfo.processInfo.environment
        guard let db = env["DATABASE_URL"], let es = env["ELASTICSEARCH_URL"] else {
            fatalError("set DATABASE_URL and ELASTICSEARCH_URL (scripts/bench.sh does)")
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let args = CommandLine.arguments.dropFirst()
        switch args.first {
        case "latency": try await latency(db: db, es: es, samples: args.dropFirst().first.flatMap(Int.init) ?? 300, logger: logger)
        case "http": try await http(es: es, logger: logger)
        case "subscribers":
            let rest = Array(args.dropFirst())
            try await subscribers(trigger: rest.count > 3 ? .broadcast(url: rest[3]) : .commit(db: db),
                                  url: rest.first ?? "ws://127.0.0.1:8080/ws",
                                  count: rest.count > 1 ? Int(rest[1]) ?? 1000 : 1000,
                                  rounds: rest.count > 2 ? Int(rest[2]) ?? 20 : 20, logger: logger)
        case "echo":
            let rest = Array(args.dropFirst())
            try await echo(url: rest.first ?? "ws://127.0.0.1:8080/ws",
                           connections: rest.count > 1 ? Int(rest[1]) ?? 50 : 50,
                           messages: rest.count > 2 ? Int(rest[2]) ?? 2000 : 2000,
                           size: rest.count > 3 ? Int(rest[3]) ?? 256 : 256, logger: logger)
        case "replication-lag":
            let rest = Array(args.dropFirst())
            try await replicationLag(db: db, subscriber: rest.first ?? "", seconds: rest.count > 1 ? Int(rest[1]) ?? 30 : 30, logger: logger)
        case "admin-load":
            let rest = Array(args.dropFirst())
            try await adminLoad(url: rest.first ?? "http://127.0.0.1:8080/metrics",
                                connections: rest.count > 1 ? Int(rest[1]) ?? 8 : 8,
                                seconds: rest.count > 2 ? Int(rest[2]) ?? 10 : 10)
        case "bulk-insert": try await bulkInsert(db: db, rows: args.dropFirst().first.flatMap(Int.init) ?? 100_000, logger: logger)
        default: print("usage: hacksync-bench latency [samples] | bulk-insert [rows]")
        }
    }

    /// Updates one user at a time and polls the document (realtime GET) until
    /// the new name is visible. Measured from the moment COMMIT returned.
    static func latency(db: String, es: String, samples: Int, logger: Logger) async throws {
        let client = ElasticsearchClient(url: try ElasticsearchURL(es), http: .shared, logger: logger)
        let connection = try await PostgresConnection.connect(db, applicationName: "bench", logger: logger)
        let ids = try await connection.query("SELECT id FROM users ORDER BY id LIMIT 50").rows.compactMap { $0.int64(0) }
        precondition(!ids.isEmpty, "seed some users first")
        let clock = ContinuousClock()
        var results: [Duration] = []
        // Counts the NOTIFYs the updates sent: captures notify only when the service sleeps armed.
        let listener = try await PostgresConnection.connect(db, applicationName: "bench-listen", logger: logger)
        let notifications = try await listener.notifications(channel: "hacksync")
        let notified = Mutex(0)
        let counting = Task { for try await _ in notifications { notified.withLock { $0 += 1 } } }
        for i in 0..<samples {
            let id = ids[i % ids.count]
            let name = "bench-\(UInt64.random(in: 0...UInt64.max))"
            try await connection.query("UPDATE users SET name = $1 WHERE id = $2", [name, id])
            let committed = clock.now
            while true {
                let response = try await client.send(.GET, "/users/_doc/\(id)?_source_includes=name")
                if response.text.contains(name) { break }
                try await Task.sleep(for: .milliseconds(1))  // polling faster steals the CPU being measured (2 cores)
            }
            results.append(clock.now - committed)
            try await Task.sleep(for: .milliseconds(20))  // single updates, not a burst
        }
        await connection.close()
        try await Task.sleep(for: .milliseconds(200))
        counting.cancel()
        print("commit → Elasticsearch, \(samples) single updates: \(summary(results))")
        print("NOTIFYs sent: \(notified.withLock { $0 }) for \(samples) updates (the rest found the service lingering, not yet asleep)")
    }

    /// Inserts `rows` users in one statement, five rounds, every variant once
    /// per round (interleaved, so the machine's noise hits each alike).
    static func bulkInsert(db: String, rows: Int, logger: Logger) async throws {
        let connection = try await PostgresConnection.connect(db, applicationName: "bench", logger: logger)
        let rowLevel = try String(contentsOfFile: "bench/row_level_capture.sql", encoding: .utf8)
        try await connection.execute(rowLevel)
        let variants: [(label: String, setup: String)] = [
            ("no triggers", "ALTER TABLE users DISABLE TRIGGER USER"),
            ("statement-level capture (shipped)", "ALTER TABLE users ENABLE TRIGGER USER"),
            ("row-level capture", """
                ALTER TABLE users DISABLE TRIGGER USER;
                CREATE TRIGGER bench_row AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION sync.bench_capture_users_row();
                """),
        ]
        let clock = ContinuousClock()
        var rates = Array(repeating: [Double](), count: variants.count)
        for round in 0..<5 {
            for (v, variant) in variants.enumerated() {
                try await connection.execute("TRUNCATE sync.changes")
                try await connection.execute("CHECKPOINT")
                try await connection.execute(variant.setup)
                let prefix = "bulk\(round)_\(UInt32.random(in: 0...UInt32.max))_"
                let started = clock.now
                try await connection.query(
                    "INSERT INTO users (username, email, name) SELECT $1 || g, $1 || g || '@x', 'Bulk ' || g FROM generate_series(1, $2) g",
                    [prefix, rows])
                rates[v].append(Double(rows) / ((clock.now - started) / .seconds(1)))
                try await connection.execute("DROP TRIGGER IF EXISTS bench_row ON users; ALTER TABLE users DISABLE TRIGGER USER")
                try await connection.query("DELETE FROM users WHERE username LIKE $1", [prefix + "%"])
                try await connection.execute("ALTER TABLE users ENABLE TRIGGER USER")
                try await connection.execute("VACUUM users")
            }
        }
        let baseline = rates[0].sorted()[2]
        for (v, variant) in variants.enumerated() {
            let sorted = rates[v].sorted()
            print("bulk insert of \(rows) users, \(variant.label): median \(Int(sorted[2])) rows/s (min \(Int(sorted[0])), max \(Int(sorted[4]))), \(String(format: "%.2f", sorted[2] / baseline))× of no triggers")
        }
        await connection.close()
    }

    /// Round trips of the Elasticsearch client alone: small bulks and GETs.
    static func http(es: String, logger: Logger) async throws {
        let client = ElasticsearchClient(url: try ElasticsearchURL(es), http: .shared, logger: logger)
        _ = try? await client.send(.PUT, "/bench_http", body: ByteBuffer(string: "{}"))
        let clock = ContinuousClock()
        var bulks: [Duration] = [], gets: [Duration] = []
        for i in 0..<200 {
            var request = BulkRequest()
            for d in 0..<4 { request.index(into: "bench_http", id: "\(d)", version: Int64(i + 1), source: #"{"n":\#(i),"text":"some document text"}"#) }
            let t0 = clock.now
            _ = try await client.send(.POST, "/_bulk", body: request.body)
            bulks.append(clock.now - t0)
            let t1 = clock.now
            _ = try await client.send(.GET, "/bench_http/_doc/1")
            gets.append(clock.now - t1)
        }
        print("bulk of 4 documents: \(summary(bulks))")
        print("GET one document: \(summary(gets))")
    }

    /// `connections` keep-alive clients request `url` back to back for
    /// `seconds`; prints requests/s and the latency percentiles. Every
    /// response must be 200 (a failed one stops the run).
    static func adminLoad(url: String, connections: Int, seconds: Int) async throws {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connections
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(seconds)
        var bytes = 0
        let outcome: Result<[Duration], any Error>
        do { outcome = .success(try await withThrowingTaskGroup(of: ([Duration], Int).self) { group in
            for _ in 0..<connections {
                group.addTask {
                    var mine: [Duration] = [], received = 0
                    while clock.now < deadline {
                        let started = clock.now
                        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
                        let body = try await response.body.collect(upTo: 16 << 20)
                        guard response.status == .ok else { throw Failure("\(url) answered \(response.status)") }
                        mine.append(clock.now - started)
                        received += body.readableBytes
                    }
                    return (mine, received)
                }
            }
            var all: [Duration] = []
            for try await (mine, received) in group { all += mine; bytes += received }
            return all
        }) } catch { outcome = .failure(error) }
        try await client.shutdown()  // also after a failure: the client must be shut down
        let latencies = try outcome.get()
        let rate = Double(latencies.count) / Double(seconds)
        print(String(format: "%@: %d connections, %d s: %.0f requests/s, %.1f KB per response; latency %@",
                     url, connections, seconds, rate, Double(bytes) / Double(max(1, latencies.count)) / 1024, summary(latencies)))
    }

    /// Every 200 ms a marker update commits on the source; the subscriber is
    /// polled until it shows it. Whatever else writes meanwhile (the script
    /// runs pgbench) is the load. Also samples the slot's lag in bytes.
    static func replicationLag(db: String, subscriber: String, seconds: Int, logger: Logger) async throws {
        let source = try await PostgresConnection.connect(db, applicationName: "bench-marker", logger: logger)
        let replica = try await PostgresConnection.connect(subscriber, applicationName: "bench-poll", logger: logger)
        let probe = try await PostgresConnection.connect(db, applicationName: "bench-slot", logger: logger)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(seconds)
        var visible: [Duration] = []
        var lagBytes: [Int64] = []
        var round = 0
        while clock.now < deadline {
            round += 1
            let marker = "marker-\(round)-\(UInt32.random(in: 0...UInt32.max))"
            try await source.query("UPDATE hackathons SET name = $1 WHERE id = (SELECT min(id) FROM hackathons)", [marker])
            let committed = clock.now
            while try await replica.query("SELECT 1 FROM hackathons WHERE name = $1", [marker]).rows.isEmpty {
                if clock.now - committed > .seconds(60) { throw Failure("marker not replicated within 60 s") }
                try await Task.sleep(for: .milliseconds(1))
            }
            visible.append(clock.now - committed)
            let row = try await probe.query("SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)), 0)::bigint FROM pg_replication_slots WHERE slot_type = 'logical'").rows[0]
            lagBytes.append(row.int64(0) ?? 0)
            try await Task.sleep(for: .milliseconds(200))
        }
        guard !visible.isEmpty else { throw Failure("no marker was timed: run for at least a second") }
        let bytes = lagBytes.sorted()
        func pct(_ p: Double) -> Int64 { bytes[min(bytes.count - 1, Int(Double(bytes.count - 1) * p))] }
        print("commit on the source → visible on the subscriber, \(visible.count) markers: \(summary(visible))")
        print("slot lag (WAL not yet confirmed): median \(pct(0.5) >> 10) KiB, p99 \(pct(0.99) >> 10) KiB, max \(pct(1) >> 10) KiB")
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func summary(_ values: [Duration]) -> String {
        let sorted = values.sorted()
        func pct(_ p: Double) -> String {
            let d = sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
            return String(format: "%.2f ms", d / .milliseconds(1))
        }
        return "median \(pct(0.5)), p90 \(pct(0.9)), p99 \(pct(0.99)), max \(pct(1))"
    }
}
