import ArgumentParser
import Foundation
import Import
import Server
import Synchronization

/// `hacksync import events --source URL | status`
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bring data in from other systems.",
        subcommands: [Events.self, Status.self])

    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pull activity events from a paginated, rate-limited HTTP API into activity_events, exactly once.",
            discussion: """
                By default the source answers GET URL?limit=N[&cursor=C] with
                {"data":[{"id":…,"type":…,"userId":…,"projectId":…,"timestamp":…}],
                 "pagination":{"hasMore":bool,"nextCursor":string|null}}.
                Each page commits with its checkpoint: after a crash or kill, run the
                same command again and it continues from the last committed page.
                """)

        @OptionGroup var common: CommonOptions
        @Option(help: "The source's URL (its own query parameters are kept).") var source: String
        @Option(help: "The environment variable holding the API key, sent as X-API-Key.") var apiKeyEnv: String?
        @Option(help: "The import's name: its checkpoint and its lock. Default: the source URL without its query or credentials.") var name: String?
        @Option(help: "Records to ask for per page (a source may cap it).") var pageSize = 1000
        @Option(help: "Where a page's records are (dotted path).") var recordsPath = "data"
        @Option(help: "Where the next page's cursor is.") var cursorPath = "pagination.nextCursor"
        @Option(help: "Where the page says whether more follow.") var hasMorePath = "pagination.hasMore"
        @Option(help: "Where the source says how many records there are in all (optional).") var totalPath = "pagination.total"
        @Option(help: "Where the source says how many seconds a cursor lives (optional).") var cursorTtlPath = "pagination.cursorTtl"
        @Option(help: "The page-size query parameter.") var limitParam = "limit"
        @Option(help: "The cursor query parameter.") var cursorParam = "cursor"
        @Option(help: "The query parameter that starts after a record id (records in id order), used when a cursor expires; empty: the source has none.")
        var resumeParam = "after"
        @Option(help: "Record fields: id, type, user, project and time.") var idField = "id"
        @Option var typeField = "type"
        @Option var userField = "userId"
        @Option var projectField = "projectId"
        @Option var timestampField = "timestamp"
        @Option(help: "Read this many disjoint partitions of the source in parallel (each its own checkpoint, all one pace); resume with the same number.")
        var partitions = 1
        @Option(help: "The partition query parameters (partition=i&partitions=n).") var partitionParam = "partition"
        @Option var partitionsParam = "partitions"
        @Option(help: "Give up on a request after this long: 30s, 2m.") var requestTimeout = "30s"
        @Option(help: "Pages that arrive within this long commit together, with one checkpoint: 1s, 5s, 0s (every page alone).")
        var commitInterval = "1s"
        @Flag(help: "Import from the first page again, even when the import finished (rows already in are matched by id).") var restart = false
        @Flag(help: "No progress line.") var quiet = false

        func run() async throws {
            var key: String?
            if let apiKeyEnv {
                guard let value = ProcessInfo.processInfo.environment[apiKeyEnv], !value.isEmpty else {
                    throw ValidationError("--api-key-env \(apiKeyEnv): that environment variable is not set")
                }
                key = value
            }
            let logger = try common.makeLogger("hacksync.import", secrets: [key])
            guard let url = URL(string: source), let scheme = url.scheme, ["http", "https"].contains(scheme.lowercased()), url.host != nil else {
                throw ValidationError("--source \(source): not an http(s) URL")
            }
            guard pageSize > 0 else { throw ValidationError("--page-size must be at least 1") }
            guard (1...64).contains(partitions) else { throw ValidationError("--partitions must be 1 to 64") }
            var settings = ImportSettings(name: name ?? "", source: source)
            if name == nil { settings.name = settings.displaySource }
            settings.apiKey = key
            settings.pageSize = pageSize
            settings.restart = restart
            settings.partitions = partitions
            settings.shape.partitionParameter = partitionParam
            settings.shape.partitionsParameter = partitionsParam
            guard case .every(let timeout)? = try? Schedule.parse(requestTimeout), timeout > .zero else {
                throw ValidationError("--request-timeout must be a duration like 30s")
            }
            settings.requestTimeout = timeout
            if commitInterval == "0" || commitInterval == "0s" {
                settings.commitInterval = .zero
            } else if case .every(let interval)? = try? Schedule.parse(commitInterval) {
                settings.commitInterval = interval
            } else {
                throw ValidationError("--commit-interval must be a duration like 1s, or 0s")
            }
            settings.shape.recordsPath = recordsPath
            settings.shape.cursorPath = cursorPath
            settings.shape.hasMorePath = hasMorePath
            settings.shape.totalPath = totalPath
            settings.shape.cursorTTLPath = cursorTtlPath
            settings.shape.limitParameter = limitParam
            settings.shape.cursorParameter = cursorParam
            settings.shape.resumeParameter = resumeParam.isEmpty ? nil : resumeParam
            settings.fields.id = idField
            settings.fields.kind = typeField
            settings.fields.user = userField
            settings.fields.project = projectField
            settings.fields.timestamp = timestampField
            let line = ProgressLine(enabled: !quiet)
            let importer = EventImporter(settings, connector: try common.connector(logger: logger), logger: logger)
            let (state, progress) = try await importer.run { progress, rate in line.show(progress.line(rate: rate)) }
            line.finish()
            print("\(state == "finished" ? "finished" : state): \(progress.records) records read, \(progress.inserted) new, "
                  + "\(progress.duplicates) already there, \(progress.deadLettered) dead-lettered, \(progress.rateLimited) rate-limited answers, "
                  + "\(progress.retries) retries, \(progress.cursorRecoveries) cursor recoveries")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Running and finished imports.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let logger = try common.makeLogger("hacksync.import")
            let runs = try await common.connector(logger: logger).withConnection(applicationName: "hacksync-import-status") {
                try await ImportRun.list($0)
            }
            if json { return try printJSON(runs) }
            if runs.isEmpty { return print("no imports") }
            print(Table(["NAME", "STATE", "RECORDS", "NEW", "DEAD", "429s", "RETRIES", "RATE/s", "UPDATED"], runs.map {
                [$0.name.clipped(50), $0.state, "\($0.records)\($0.total.map { " / \($0)" } ?? "")", "\($0.inserted)", "\($0.deadLettered)",
                 "\($0.rateLimited)", "\($0.retries)", $0.rate.map { String(Int($0)) } ?? "-", AdminJSON.timestamp($0.updatedAt)]
            }).rendered)
        }
    }
}

/// The progress line on standard error: redrawn in place on a terminal,
/// a line every 5 seconds otherwise (a log, CI).
final class ProgressLine: Sendable {
    private let enabled: Bool
    private let terminal = isatty(STDERR_FILENO) == 1
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ text: String) {
        guard enabled else { return }
        let now = ContinuousClock.now
        let due = last.withLock { last in
            guard terminal || last.map({ now - $0 >= .seconds(5) }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + text : text + "\n").utf8))
    }

    func finish() {
        if enabled && terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
