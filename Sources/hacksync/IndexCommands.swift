import ArgumentParser
import Foundation
import Logging
import Model
import Server
import Sync
import Synchronization

struct Reindex: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild indexes into new versions with no downtime, then swap the aliases.",
        discussion: """
        Copies a consistent snapshot with keyset pagination, applies the changes made meanwhile, \
        swaps the alias atomically and drops the old index. Killed, it resumes from its checkpoint \
        the next time (or the running service resumes it).
        """)

    @OptionGroup var common: CommonOptions
    @OptionGroup var search: SearchOptions
    @Option(help: "Only this document kind: users, hackathons or projects.") var entity: Entity?
    @Option(help: "Documents per page.") var pageSize = 1000
    @Flag(help: "Refill the current index in place instead of building a new one.") var inPlace = false

    func run() async throws {
        let logger = try common.makeLogger("hacksync.reindex", secrets: [databasePassword(search.elasticsearchURL)])
        let indexes = try search.indexes(logger: logger)
        var builder = IndexBuilder(database: try common.connector(logger: logger), client: indexes.client, indexes: indexes, logger: logger)
        builder.pageSize = pageSize
        for entity in entity.map({ [$0] }) ?? Entity.allCases {
            let bar = ProgressBar(label: entity.rawValue)
            let job = try await builder.run(entity, mode: inPlace ? .rebuild : .reindex, reason: "hacksync reindex") { bar.show($0) }
            bar.done(job)
        }
    }
}

extension Entity: ExpressibleByArgument {}

struct Reconcile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare every document in the index with Postgres and repair the drift.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var search: SearchOptions
    @Option(help: "Only this document kind.") var entity: Entity?
    @Flag(help: "Report only; repair nothing.") var dryRun = false
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let logger = try common.makeLogger("hacksync.reconcile", secrets: [databasePassword(search.elasticsearchURL)])
        let indexes = try search.indexes(logger: logger)
        let report = try await Server.Reconciler(database: try common.connector(logger: logger), client: indexes.client, indexes: indexes, logger: logger)
            .run(entity.map { [$0] } ?? Entity.allCases, repair: !dryRun)
        if json { return try printJSON(report) }
        print(Table(["INDEX", "EXPECTED", "INDEXED", "MISSING", "EXTRA", "DIFFERENT", dryRun ? "TO REPAIR" : "REPAIRED"], report.entities.map {
            [$0.entity.rawValue, "\($0.expected)", "\($0.indexed)", "\($0.missing)", "\($0.extra)", "\($0.different)",
             "\(dryRun ? $0.missing + $0.extra + $0.different : $0.repaired)"]
        }).rendered)
        print(String(format: "%.1f s; ", report.seconds) + (report.entities.allSatisfy { $0.missing + $0.extra + $0.different == 0 }
            ? "the index equals Postgres" : dryRun ? "run without --dry-run to repair" : "repairs are queued to the sync"))
    }
}

/// Count, rate and ETA of a long run (an index job, a bulk seed) on stderr:
/// redrawn in place on a terminal, a line every few seconds otherwise.
final class ProgressBar: Sendable {
    let label: String
    let interactive = isatty(STDERR_FILENO) != 0
    private let lastLine = Mutex<ContinuousClock.Instant?>(nil)

    init(label: String) { self.label = label }

    func show(_ job: IndexJob) {
        show(done: job.copied, total: job.total, rate: job.rate ?? 0)
    }

    func show(done: Int64, total: Int64, rate: Double, label: String? = nil) {
        let now = ContinuousClock.now
        let due = lastLine.withLock { last -> Bool in
            if interactive { return true }
            if let last, now - last < .seconds(5) { return false }
            last = now
            return true
        }
        guard due else { return }
        let width = 30
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let filled = Int(fraction * Double(width))
        let eta = rate > 0 ? Double(max(0, total - done)) / rate : 0
        let line = "\(label ?? self.label) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] "
            + "\(done)/\(total) \(Int(rate))/s ETA \(Int(eta))s"
        FileHandle.standardError.write(Data((interactive ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    func clear() {
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    func done(_ job: IndexJob) {
        clear()
        print("\(label): \(job.mode == .reindex ? "reindexed into \(job.targetIndex)" : "rebuilt \(job.targetIndex)"): "
              + "\(job.copied) documents, \(Int(job.rate ?? 0))/s")
    }
}
