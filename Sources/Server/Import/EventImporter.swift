import AsyncHTTPClient
import Foundation
import Import
import Logging
import NIOCore
import Postgres
import Synchronization
import Sync

/// What `hacksync import events` is told.
public struct ImportSettings: Sendable {
    /// The import's name: its checkpoint row and its lock.
    public var name: String
    public var source: String
    /// Sent as `X-API-Key`.
    public var apiKey: String?
    public var shape = SourceShape()
    public var fields = ActivityRecord.Fields()
    /// Records asked for per page; a source may send fewer (it caps
    /// silently), and one that refuses the size gets half.
    public var pageSize = 1000
    public var requestTimeout: Duration = .seconds(30)
    public var retry = RetryPolicy(base: .milliseconds(250), cap: .seconds(30))
    /// Failed attempts in a row at one page before the import gives up (its
    /// checkpoint stays; a rerun continues).
    public var attempts = 12
    /// Start from the first page again, even when the import finished.
    public var restart = false
    /// Pages that arrive within this long commit together (with one
    /// checkpoint): fewer transactions, and one change-log row per document
    /// for all of them instead of one per page. A crash loses at most this
    /// much fetched work, which the rerun fetches again.
    public var commitInterval: Duration = .seconds(1)
    /// Disjoint partitions of the source read in parallel (`SourceShape`'s
    /// partition parameters), each with its own checkpoint
    /// (`<name> (i/n)`); 1: the source is one cursor chain. Requests of
    /// all partitions share one pace.
    public var partitions = 1

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }

    /// The source as status, metrics and the dashboard show it: without
    /// credentials in the URL and without its query (either may hold a key).
    public var displaySource: String {
        guard var parts = URLComponents(string: source) else { return "(an unparsable URL)" }
        parts.user = nil
        parts.password = nil
        parts.query = nil
        parts.fragment = nil
        return parts.string ?? "(an unparsable URL)"
    }
}

/// The import failed and stopped; its checkpoint is kept.
public struct ImportError: Error, CustomStringConvertible {
    public var description: String
}

/// Pulls a paginated source into `activity_events`, exactly once: each
/// page and the checkpoint after it commit together (`ImportStore`), the
/// next page is fetched while the previous one is written, requests are
/// paced to the source's announced rate limit (`RateLimitPacer`), and
/// failures retry with backoff.
public final class EventImporter: Sendable {
    let settings: ImportSettings
    let connector: PostgresConnector
    let http: HTTPClient
    let logger: Logger
    private let pacer = Mutex(RateLimitPacer())

    public init(_ settings: ImportSettings, connector: PostgresConnector, http: HTTPClient = .shared, logger: Logger) {
        self.settings = settings
        self.connector = connector
        self.http = http
        self.logger = logger
    }

    /// Runs the import to its end (or its failure), calling `report` after
    /// every committed page with the counters and the records per second of
    /// this run. Returns the final counters; already finished: returns
    /// them at once (`restart` to import again).
    @discardableResult
    public func run(report: @escaping @Sendable (ImportProgress, Double) -> Void = { _, _ in }) async throws -> (state: String, progress: ImportProgress) {
        guard settings.partitions > 1 else {
            return try await run(settings.name, partition: nil, report: report)
        }
        // Each partition reports its own counters; the caller sees their sum.
        let count = settings.partitions
        let partials = Partials(count)
        return try await withThrowingTaskGroup(of: (String, ImportProgress).self) { group in
            for index in 0..<count {
                group.addTask {
                    try await self.run("\(self.settings.name) (\(index + 1)/\(count))", partition: .init(index, of: count)) { progress, rate in
                        let (sum, rates) = partials.update(index, progress, rate)
                        report(sum, rates)
                    }
                }
            }
            var states: [String] = []
            var progress = ImportProgress()
            for try await (state, partial) in group {
                states.append(state)
                progress = Self.sum(progress, partial)
            }
            return (states.allSatisfy { $0 == "finished" } ? "finished" : "running", progress)
        }
    }

    /// The partitions' latest counters and rates, summed for the caller's report.
    private final class Partials: Sendable {
        private let state: Mutex<(progress: [ImportProgress], rates: [Double])>

        init(_ count: Int) {
            state = Mutex(([ImportProgress](repeating: ImportProgress(), count: count), [Double](repeating: 0, count: count)))
        }

        func update(_ index: Int, _ progress: ImportProgress, _ rate: Double) -> (ImportProgress, Double) {
            state.withLock { state in
                state.progress[index] = progress
                state.rates[index] = rate
                return (state.progress.dropFirst().reduce(state.progress[0], EventImporter.sum), state.rates.reduce(0, +))
            }
        }
    }

    static func sum(_ a: ImportProgress, _ b: ImportProgress) -> ImportProgress {
        var total = a
        total.pages += b.pages
        total.records += b.records
        total.inserted += b.inserted
        total.duplicates += b.duplicates
        total.deadLettered += b.deadLettered
        total.rateLimited += b.rateLimited
        total.retries += b.retries
        total.cursorRecoveries += b.cursorRecoveries
        total.total = a.total ?? b.total  // the source's count of all records, as each partition's pages say it
        return total
    }

    private func run(_ name: String, partition: SourceShape.Partition?,
                     report: @escaping @Sendable (ImportProgress, Double) -> Void) async throws -> (state: String, progress: ImportProgress) {
        let connection = try await connector.connect(applicationName: "hacksync-import")
        defer { Task { await connection.close() } }
        let store = ImportStore(connection: connection, name: name)
        guard try await store.lock() else {
            throw ImportError(description: "import \(name) is already running in another process")
        }
        var checkpoint = try await store.open(source: settings.displaySource, restart: settings.restart)
        if checkpoint.state == "finished" {
            logger.notice("already finished; --restart imports again", metadata: ["import": "\(name)"])
            return (checkpoint.state, checkpoint.progress)
        }
        try await store.prepare()
        do {
            let finished = try await pull(from: checkpoint, into: store, partition: partition, report: report)
            return ("finished", finished.progress)
        } catch {
            checkpoint = (try? await store.open(source: settings.displaySource, restart: false)) ?? checkpoint
            checkpoint.state = "failed"
            try? await store.save(checkpoint, error: "\(error)")
            throw error
        }
    }

    private struct CursorRejected: Error {
        var reason: String
    }

    /// The page loop: page n+1 is asked for as soon as page n's cursor is
    /// known, while page n is parsed and committed. Pages gather for the
    /// commit interval, then commit together with the checkpoint after the
    /// last; a commit starts once the one before is done (one write in
    /// flight, so a checkpoint always follows the one before it).
    private func pull(from start: ImportStore.Checkpoint, into store: ImportStore, partition: SourceShape.Partition?,
                      report: @escaping @Sendable (ImportProgress, Double) -> Void) async throws -> ImportStore.Checkpoint {
        let runStart = ContinuousClock.now
        let recordsAtStart = start.progress.records
        // The fetching side's state: where the next page starts, the last
        // record seen, and its own counters (429s, retries, recoveries).
        var counters = start.progress
        var lastID = start.lastID
        var position = SourceShape.Position.start
        if let cursor = start.cursor {
            position = .cursor(cursor)
            if let at = start.cursorAt, let ttl = start.cursorTTL, Self.now() > at + ttl {
                position = recovery(after: lastID, reason: "the checkpoint's cursor is \(Int(Self.now() - at)) s old, past its \(Int(ttl)) s", &counters)
            }
        } else if let lastID, settings.shape.resumeParameter != nil {
            position = .after(lastID)  // a run that died before its first cursor was saved: continue after the last record
        }
        var pageSize = settings.pageSize
        var writing: Task<ImportStore.Checkpoint, Error>?
        var recoveriesInARow = 0
        let fetch = { (position: SourceShape.Position, pageSize: Int) in
            Task { try await self.fetch(position, pageSize: pageSize, partition: partition) }
        }
        var fetching = fetch(position, pageSize)
        // Read but not yet handed to a commit.
        var accepted: [ActivityRecord] = []
        var rejected: [ActivityRecord.Rejection] = []
        var pagesPending = 0
        var lastCommit = ContinuousClock.now
        do {
        while true {
            let fetched: Fetched
            do {
                fetched = try await fetching.value
                recoveriesInARow = 0
            } catch let rejected as CursorRejected {
                recoveriesInARow += 1
                guard recoveriesInARow <= 3 else {
                    throw ImportError(description: "the source refuses to resume (\(rejected.reason))")
                }
                position = recovery(after: lastID, reason: rejected.reason, &counters)
                fetching = fetch(position, pageSize)
                continue
            }
            let page = fetched.page
            counters.rateLimited += fetched.rateLimited
            counters.retries += fetched.retries
            pageSize = fetched.pageSize
            // The next page is asked for now, while this one is read and written:
            // the source's pace, not ours, sets the rate.
            let next = page.hasMore ? page.nextCursor : nil
            if let next { fetching = fetch(.cursor(next), pageSize) }
            for record in page.records {
                switch ActivityRecord.parse(record, fields: settings.fields) {
                case .success(let row): accepted.append(row)
                case .failure(let rejection): rejected.append(rejection)
                }
            }
            pagesPending += 1
            if let id = page.records.last.flatMap({ ActivityRecord.parse($0, fields: settings.fields).id }) {
                lastID = id
            }
            // Pages gather until the commit interval has passed since the last commit began.
            guard next == nil || ContinuousClock.now - lastCommit >= settings.commitInterval else { continue }
            var checkpoint = try await writing?.value ?? start
            checkpoint.cursor = next
            checkpoint.cursorAt = fetched.sentAt
            checkpoint.cursorTTL = page.cursorTTL
            checkpoint.lastID = lastID
            checkpoint.state = next == nil ? "finished" : "running"
            checkpoint.progress.total = page.total.map(Int64.init) ?? checkpoint.progress.total
            checkpoint.progress.rateLimited = counters.rateLimited
            checkpoint.progress.retries = counters.retries
            checkpoint.progress.cursorRecoveries = counters.cursorRecoveries
            let (after, records, refused, pages) = (checkpoint, accepted, rejected, pagesPending)
            accepted = []
            rejected = []
            pagesPending = 0
            lastCommit = .now
            writing = Task {
                let committed = try await store.commit(records, rejected: refused, pages: pages, after: after)
                let seconds = max(0.001, (ContinuousClock.now - runStart) / .seconds(1))
                report(committed.progress, Double(committed.progress.records - recordsAtStart) / seconds)
                return committed
            }
            if next == nil { break }
        }
        } catch {
            fetching.cancel()
            // The page being written owns the connection until its transaction ends.
            _ = try? await writing?.value
            throw error
        }
        return try await writing?.value ?? start
    }

    /// Where to ask after a refused or expired cursor: after the last
    /// record read (committed, or gathered for the next commit) when the
    /// source can start there, else from the first page (the rows already
    /// in are matched by id, not doubled).
    private func recovery(after lastID: String?, reason: String, _ counters: inout ImportProgress) -> SourceShape.Position {
        counters.cursorRecoveries += 1
        if let lastID, settings.shape.resumeParameter != nil {
            logger.warning("cursor refused; resuming after the last record imported", metadata: ["import": "\(settings.name)", "reason": "\(reason)", "after": "\(lastID)"])
            return .after(lastID)
        }
        logger.warning("cursor refused and the source cannot resume after an id: starting from the first page (rows already in are matched by id)",
                       metadata: ["import": "\(settings.name)", "reason": "\(reason)"])
        return .start
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    /// A page, with what getting it took.
    private struct Fetched: Sendable {
        var page: SourceShape.Page
        /// When the request that got it was sent (wall clock): the cursor's age counts from then.
        var sentAt: Double
        /// The page size to ask for from now on (halved when the source refused one).
        var pageSize: Int
        var rateLimited: Int64 = 0
        var retries: Int64 = 0
    }

    /// One page, paced, retried: throws `CursorRejected` when the source
    /// refuses the cursor, `ImportError` when it fails for good.
    private func fetch(_ position: SourceShape.Position, pageSize: Int, partition: SourceShape.Partition?) async throws -> Fetched {
        var pageSize = pageSize
        var rateLimited: Int64 = 0, retries: Int64 = 0
        var failures = 0
        var generator = SystemRandomNumberGenerator()
        while true {
            let slot = pacer.withLock { $0.reserve(now: Self.now()) }
            let wait = slot - Self.now()
            if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
            let url = settings.shape.url(settings.source, at: position, limit: pageSize, partition: partition)
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Accept", value: "application/json")
            if let key = settings.apiKey { request.headers.add(name: "X-API-Key", value: key) }
            let sentAt = Self.now()
            let answer: SourceShape.Answer
            do {
                let response = try await http.execute(request, timeout: .nanoseconds(Int64(settings.requestTimeout / .nanoseconds(1))))
                let body = try await response.body.collect(upTo: 256 << 20)
                let status = Int(response.status.code)
                pacer.withLock { $0.observe(status: status, headers: response.headers.map { ($0.name, $0.value) }, sentAt: sentAt, now: Self.now()) }
                answer = settings.shape.classify(status: status, body: Array(buffer: body), position: position)
            } catch {
                answer = .transient("\(error)")
            }
            switch answer {
            case .page(let page):
                return Fetched(page: page, sentAt: sentAt, pageSize: pageSize, rateLimited: rateLimited, retries: retries)
            case .rateLimited:
                rateLimited += 1
                let paced = pacer.withLock { $0.notBefore } > Self.now()
                if !paced {  // a 429 that announced nothing: back off as from a failure
                    failures += 1
                    try await Task.sleep(for: settings.retry.delay(afterFailures: failures, using: &generator))
                }
            case .transient(let reason):
                failures += 1
                retries += 1
                guard failures < settings.attempts else {
                    throw ImportError(description: "the source failed \(failures) times in a row; last: \(reason)")
                }
                let delay = settings.retry.delay(afterFailures: failures, using: &generator)
                logger.info("retrying a page", metadata: ["import": "\(settings.name)", "reason": "\(reason)", "after": "\(delay)"])
                try await Task.sleep(for: delay)
            case .cursorRejected(let reason):
                throw CursorRejected(reason: reason)
            case .pageSizeRejected(let reason):
                guard pageSize > 1 else { throw ImportError(description: "the source refuses every page size: \(reason)") }
                pageSize = max(1, pageSize / 2)
                logger.notice("the source refused the page size; asking for \(pageSize)", metadata: ["import": "\(settings.name)", "reason": "\(reason)"])
            case .failed(let reason):
                throw ImportError(description: "the source answered \(reason)")
            }
        }
    }
}

extension Result where Success == ActivityRecord, Failure == ActivityRecord.Rejection {
    /// The record's id, read or not.
    var id: String? {
        switch self {
        case .success(let record): record.id
        case .failure(let rejection): rejection.sourceID
        }
    }
}
