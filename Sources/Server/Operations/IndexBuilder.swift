import Foundation
import Logging
import Model
import Postgres
import Search
import Sync

/// Builds a search index from Postgres while live changes keep flowing.
///
/// 1. Claim: one unfinished job per document kind (`sync.index_jobs`); its
///    runner holds an advisory lock on the job, so a job whose runner died
///    (kill -9) is resumed by the next one from its checkpoint.
/// 2. Copy: keyset pages of documents, each read under a fresh external
///    version, written through a build alias (`<alias>_build_<job>`) that
///    exists only while the target index does: a target lost mid-copy fails
///    the writes instead of being re-created with guessed mappings, and the
///    next run starts the copy again.
/// 3. Catch up: documents touched by changes not visible in the job's
///    snapshot (committed after the copy began) are read and written again.
/// 4. Reindex only: swap the alias to the new index atomically, catch up once
///    more, drop the old index. The alias never points at a partial index.
///
/// Versions are taken under the same lock as the live sync's, so the copy,
/// the catch-up and the live sync may write the same index in any order.
public struct IndexBuilder: Sendable {
    /// Advisory lock class for job runners (the job id is the second key).
    static let jobLockClass: Int32 = 7261
    let database: PostgresConnector
    let client: ElasticsearchClient
    let indexes: SearchIndexes
    let logger: Logger
    /// Documents per page (one read; one bulk request unless they exceed
    /// the client's `maxBulkBytes`).
    public var pageSize = 1000
    /// Bulk requests in flight at most; how many are chosen from what the
    /// cluster accepts (`InFlightWindow`: one more per round without a 429,
    /// half as many after one).
    public var maxInFlight = 4
    /// A catch-up round touching fewer documents than this ends the catch-up.
    public var catchUpSettled = 100
    public var retry = RetryPolicy(base: .milliseconds(200), cap: .seconds(5))
    /// Attempts per page before the job gives up (it stays resumable).
    public var maxAttempts = 12

    public init(database: PostgresConnector, client: ElasticsearchClient, indexes: SearchIndexes, logger: Logger) {
        self.database = database
        self.client = client
        self.indexes = indexes
        self.logger = logger
    }

    /// Runs (or resumes) the job for `entity` to the end.
    @discardableResult
    public func run(_ entity: Entity, mode: IndexJob.Mode, reason: String,
                    progress: @escaping @Sendable (IndexJob) -> Void = { _ in }) async throws -> IndexJob {
        try await database.withConnection(applicationName: "hacksync-index-build", queryTimeout: PostgresConnector.maintenanceQueryTimeout) { db in
            var job = try await claim(entity, mode: mode, reason: reason, db)
            var metadata: Logger.Metadata = ["job": "\(job.id)", "entity": "\(entity)", "mode": "\(job.mode)"]
            logger.notice(job.copied > 0 ? "resuming index job" : "index job started", metadata: metadata)
            do {
                job = try await prepareTarget(job, db)
                progress(job)
                if job.phase == "copying" { job = try await copy(job, db, progress) }
                job = try await finish(job, db)
                progress(job)
                metadata["documents"] = "\(job.copied)"
                metadata["rate"] = "\(Int(job.rate ?? 0))/s"
                logger.notice("index job done", metadata: metadata)
                return job
            } catch {
                _ = try? await db.query("UPDATE sync.index_jobs SET error = $2, updated_at = now() WHERE id = $1", [job.id, "\(error)"])
                metadata["error"] = "\(error)"
                logger.warning("index job stopped; it resumes from its checkpoint", metadata: metadata)
                throw error
            }
        }
    }

    /// Unfinished and recent jobs, newest first.
    public static func jobs(_ db: PostgresConnection, limit: Int = 20) async throws -> [IndexJob] {
        try await db.query("SELECT \(IndexJob.columns) FROM sync.index_jobs ORDER BY finished_at IS NULL DESC, id DESC LIMIT $1", [limit])
            .rows.compactMap(IndexJob.init(row:))
    }

    // MARK: - Steps

    private func claim(_ entity: Entity, mode: IndexJob.Mode, reason: String, _ db: PostgresConnection) async throws -> IndexJob {
        for _ in 0..<3 {
            if let job = try await load(entity, db) {
                guard try await db.query("SELECT pg_try_advisory_lock($1, $2::int)", [Self.jobLockClass, job.id]).scalar == "t" else {
                    throw OperationError.jobRunning("a \(job.mode) of \(entity) is already running (job \(job.id), \(job.copied) of \(job.total) copied)")
                }
                // The job may have finished between the read and the lock.
                if let current = try await load(entity, db), current.id == job.id { return current }
                _ = try await db.query("SELECT pg_advisory_unlock($1, $2::int)", [Self.jobLockClass, job.id])
                continue
            }
            let target = mode == .reindex ? try await indexes.nextIndexName(entity) : ""
            do {
                let row = try await db.query(
                    """
                    INSERT INTO sync.index_jobs (entity, mode, target_index, snapshot, total, reason)
                    VALUES ($1, $2, $3, pg_current_snapshot(), cardinality(sync.next_ids($1, 0, 2147483647)), $4)
                    RETURNING \(IndexJob.columns)
                    """,
                    [entity.rawValue, mode.rawValue, target, reason]).rows.first
                guard let job = row.flatMap(IndexJob.init(row:)) else { throw OperationError.jobInterrupted("could not record the job") }
                _ = try await db.query("SELECT pg_advisory_lock($1, $2::int)", [Self.jobLockClass, job.id])
                return job
            } catch let error as PostgresError where error.sqlState == "23505" {
                continue  // another runner created one meanwhile: claim that
            }
        }
        throw OperationError.jobRunning("another index job for \(entity) keeps starting; try again")
    }

    private func load(_ entity: Entity, _ db: PostgresConnection) async throws -> IndexJob? {
        try await db.query("SELECT \(IndexJob.columns) FROM sync.index_jobs WHERE entity = $1 AND finished_at IS NULL", [entity.rawValue])
            .rows.first.flatMap(IndexJob.init(row:))
    }

    private func buildAlias(_ job: IndexJob) -> String { "\(indexes.alias(for: job.entity))_build_\(job.id)" }

    /// Makes sure the target index exists behind the build alias. A target
    /// that was lost (or never made) restarts the copy from the beginning.
    private func prepareTarget(_ job: IndexJob, _ db: PostgresConnection) async throws -> IndexJob {
        let buildAlias = buildAlias(job)
        if try await client.aliasTargets(buildAlias).first != nil { return job }
        if job.mode == .reindex, try await client.aliasTargets(indexes.alias(for: job.entity)).contains(job.targetIndex) {
            return job  // killed after the swap: only the last steps are left
        }
        let index: String
        switch job.mode {
        case .rebuild:
            index = try await indexes.ensure(job.entity).index
        case .reindex:
            index = job.targetIndex
            if try await !client.indexExists(index) {
                let definition = indexes.definition(job.entity)
                try await client.createIndex(index, definition: definition)
            }
        }
        try await indexes.removeStrayIndex(named: buildAlias)
        try await client.moveAlias(buildAlias, to: index)
        let restart = job.copied > 0 || job.phase != "copying"
        if restart { logger.warning("index job target was lost; copying again from the start", metadata: ["job": "\(job.id)"]) }
        let row = try await db.query(
            """
            UPDATE sync.index_jobs SET target_index = $2, updated_at = now(),
                   phase = CASE WHEN $3 THEN 'copying' ELSE phase END,
                   last_id = CASE WHEN $3 THEN 0 ELSE last_id END,
                   copied = CASE WHEN $3 THEN 0 ELSE copied END,
                   snapshot = CASE WHEN $3 THEN pg_current_snapshot() ELSE snapshot END
            WHERE id = $1 RETURNING \(IndexJob.columns)
            """,
            [job.id, index, restart]).rows.first
        return try row.flatMap(IndexJob.init(row:)) ?? { throw OperationError.notFound("index job \(job.id) vanished") }()
    }

    /// Copies keyset pages into the target: pages are read in id order on
    /// the job's connection while up to `window.limit` of them are being
    /// written, so memory holds at most that many pages plus one. The
    /// checkpoint (`last_id`) moves only over pages written with every page
    /// before them (`PageCheckpoint`): a resumed job redoes at most the
    /// pages that were in flight.
    private func copy(_ job: IndexJob, _ db: PostgresConnection, _ progress: @Sendable (IndexJob) -> Void) async throws -> IndexJob {
        var job = job
        let target = buildAlias(job)
        let entity = job.entity, pageSize = self.pageSize
        @Sendable func read(after id: Int64) async throws -> [(id: Int64, version: Int64, json: String?)] {
            try await db.query("SELECT version, id, doc FROM sync.read_page($1, $2, $3)", [entity.rawValue, id, pageSize])
                .rows.map { ($0.int64(1) ?? 0, $0.int64(0) ?? 0, $0.string(2)) }
        }
        var window = InFlightWindow(maximum: maxInFlight)
        var checkpoint = PageCheckpoint()
        try await withThrowingTaskGroup(of: (ticket: Int, overloaded: Bool).self) { group in
            var page = try await read(after: job.lastID)
            while true {
                while checkpoint.inFlight < window.limit, let last = page.last?.id {
                    try Task.checkCancellation()
                    let ticket = checkpoint.issued(lastID: last, count: page.count)
                    group.addTask { [page] in (ticket, try await write(page, entity: entity, to: target, db)) }
                    page = try await read(after: last)
                }
                guard let written = try await group.next() else { break }
                if written.overloaded { window.overloaded() } else { window.accepted() }
                guard let advance = checkpoint.finished(written.ticket) else { continue }
                let row = try await db.query(
                    "UPDATE sync.index_jobs SET last_id = $2, copied = copied + $3, total = greatest(total, copied + $3), updated_at = now() WHERE id = $1 RETURNING \(IndexJob.columns)",
                    [job.id, advance.lastID, advance.copied]).rows.first
                if let updated = row.flatMap(IndexJob.init(row:)) { job = updated }
                progress(job)
            }
        }
        let row = try await db.query("UPDATE sync.index_jobs SET phase = 'catching_up', updated_at = now() WHERE id = $1 RETURNING \(IndexJob.columns)", [job.id]).rows.first
        return row.flatMap(IndexJob.init(row:)) ?? job
    }

    /// Catches up, swaps the alias (reindex), drops the build alias and the
    /// old index, and marks the job done.
    private func finish(_ job: IndexJob, _ db: PostgresConnection) async throws -> IndexJob {
        let alias = indexes.alias(for: job.entity)
        let buildAlias = buildAlias(job)
        for _ in 0..<5 {
            if try await catchUp(job, to: buildAlias, db) < catchUpSettled { break }
        }
        var retired: [String] = []
        switch job.mode {
        case .reindex:
            let current = try await client.aliasTargets(alias)
            if current != [job.targetIndex] {
                try await client.refresh(job.targetIndex)
                var actions: [ElasticsearchClient.AliasAction] = current.filter { $0 != job.targetIndex }.map { .remove(index: $0, alias: alias) }
                actions.append(.add(index: job.targetIndex, alias: alias))
                if try await client.aliasTargets(buildAlias).contains(job.targetIndex) {
                    actions.append(.remove(index: job.targetIndex, alias: buildAlias))
                }
                try await client.updateAliases(actions)
                logger.notice("alias swapped", metadata: ["es.alias": "\(alias)", "index": "\(job.targetIndex)"])
            }
            // Changes the live sync wrote to the old index since the last round.
            _ = try await catchUp(job, to: alias, db)
            // Every other version of this index (also one left by a run killed
            // between the swap and the drop); only this job builds indexes now.
            retired = try await client.indexNames(startingWith: alias + "_v").filter { $0 != job.targetIndex }
        case .rebuild:
            _ = try await catchUp(job, to: alias, db)
            try await client.updateAliases([.remove(index: job.targetIndex, alias: buildAlias)])
        }
        for index in retired { try await client.deleteIndex(index) }
        let row = try await db.query(
            "UPDATE sync.index_jobs SET phase = 'done', error = NULL, finished_at = now(), updated_at = now() WHERE id = $1 RETURNING \(IndexJob.columns)",
            [job.id]).rows.first
        return row.flatMap(IndexJob.init(row:)) ?? job
    }

    /// One catch-up round from the job's snapshot; advances the snapshot.
    /// Returns the number of documents written.
    private func catchUp(_ job: IndexJob, to target: String, _ db: PostgresConnection) async throws -> Int {
        let rows = try await db.query(
            "SELECT version, upto::text, id, doc FROM sync.catch_up($1, (SELECT snapshot FROM sync.index_jobs WHERE id = $2))",
            [job.entity.rawValue, job.id])
        guard let header = rows.rows.first, let version = header.int64(0), let upto = header.string(1) else {
            throw OperationError.jobInterrupted("catch-up returned no header")
        }
        let documents = rows.rows.dropFirst().map { ($0.int64(2) ?? 0, version, $0.string(3)) }
        _ = try await write(Array(documents), entity: job.entity, to: target, db)
        _ = try await db.query("UPDATE sync.index_jobs SET snapshot = $2::pg_snapshot, updated_at = now() WHERE id = $1", [job.id, upto])
        return documents.count
    }

    /// Writes documents (id, version, JSON or nil for a delete) with retries
    /// for transient failures; parks documents the index refuses. Returns
    /// whether the cluster asked for less on the way (429).
    private func write(_ documents: [(id: Int64, version: Int64, json: String?)], entity: Entity, to target: String,
                       _ db: PostgresConnection) async throws -> Bool {
        guard !documents.isEmpty else { return false }
        var overloaded = false
        let writes = documents.map { DocumentWrite(target: target, ref: DocumentRef(entity, $0.id), version: $0.version, json: $0.json) }
        var generator = SystemRandomNumberGenerator()
        var lastProblem = ""
        for attempt in 1...maxAttempts {
            do {
                var rejected: [RejectedDocument] = []
                var retryable: [String] = []
                for (write, item) in zip(writes, try await client.write(writes)) {
                    if item.error?.type == "index_not_found_exception" {
                        throw OperationError.jobInterrupted("the target index is gone (\(target)); the next run starts over")
                    }
                    switch item.outcome {
                    case .applied, .superseded: break
                    case .rejected(let type, let reason):
                        rejected.append(RejectedDocument(ref: write.ref, json: write.json, errorType: type, reason: reason))
                    case .retry(let reason, let asksForLess):
                        retryable.append(reason)
                        overloaded = overloaded || asksForLess
                    }
                }
                if !rejected.isEmpty { try await park(rejected, db) }
                if retryable.isEmpty { return overloaded }
                lastProblem = "\(retryable.count) documents to retry, e.g. \(retryable[0])"
            } catch let error as IndexWriteError where error.transient {
                overloaded = overloaded || error.overloaded
                lastProblem = "\(error)"
            }
            logger.info("index build write failed; retrying", metadata: ["attempt": "\(attempt)", "error": "\(lastProblem)"])
            try await Task.sleep(for: retry.delay(afterFailures: attempt, using: &generator))
        }
        throw OperationError.jobInterrupted("the index kept failing after \(maxAttempts) attempts: \(lastProblem)")
    }

    private func park(_ rejected: [RejectedDocument], _ db: PostgresConnection) async throws {
        _ = try await db.query(
            "SELECT sync.park($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[])",
            [rejected.map(\.ref.entity.rawValue), rejected.map(\.ref.id), rejected.map { $0.json.map(PostgresArrayElement.value) ?? .null },
             rejected.map(\.errorType), rejected.map(\.reason)])
        for document in rejected {
            logger.warning("document rejected by the index, parked in the dead-letter table", metadata: [
                "doc": "\(document.ref)", "error.type": "\(document.errorType)", "error.reason": "\(document.reason)",
            ])
        }
    }
}
