import Logging
import Model
import Postgres
import Search
import ServiceLifecycle
import Sync

/// Notices when the search cluster lost documents and refills it from
/// Postgres with no manual step, while live changes keep flowing:
///
/// - an alias that is missing (cluster wiped or restarted empty, index
///   deleted) is re-created at once, and a rebuild job refills its index;
/// - an index whose document count collapsed (under half of what the sync
///   wrote) is rebuilt in place;
/// - an unfinished index job whose runner died is resumed from its checkpoint;
/// - an index built from another document declaration (a field added,
///   removed or retyped) is replaced by a reindex when the service starts:
///   the declaration's new properties are first added to the live index, so
///   the live sync's documents fit it until the alias swaps;
/// - an index whose mapping was changed by hand is reported (`MappingDrift`)
///   and replaced by a reindex (once per process: a mapping that drifts
///   again is left reported).
///
/// It also starts index jobs on request (admin API) and owns index creation
/// for the sync engine, so an index is never created without being refilled.
public actor IndexGuard: Service {
    let database: ManagedConnection
    let client: ElasticsearchClient
    let indexes: SearchIndexes
    let builder: IndexBuilder
    let logger: Logger
    public nonisolated let drift: MappingDrift
    /// How often aliases are checked.
    let checkInterval: Duration
    /// Every this many checks, document counts and orphaned jobs too.
    public var deepCheckEvery = 10

    private var running: [Entity: Task<Void, Never>] = [:]
    private var ensuring: Task<Void, any Error>?
    /// Whether the mappings were checked since start: only that first
    /// check acts on a changed declaration (after it, a different one is
    /// another instance's, deployed later: not ours to undo).
    private var mappingsChecked = false
    /// Document kinds whose drift this process repaired already.
    private var driftRepaired: Set<Entity> = []

    /// The guard's checks share one connection; each index job it starts
    /// opens its own.
    public init(database connector: PostgresConnector, client: ElasticsearchClient, indexes: SearchIndexes,
                drift: MappingDrift = MappingDrift(), checkInterval: Duration = .seconds(1), logger: Logger) {
        self.database = connector.shared(applicationName: "hacksync-guard")
        self.checkInterval = checkInterval
        self.client = client
        self.indexes = indexes
        self.builder = IndexBuilder(database: connector, client: client, indexes: indexes, logger: logger)
        self.drift = drift
        self.logger = logger
    }

    public func run() async throws {
        var tick = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await checkAliases()
                if tick % deepCheckEvery == 0 || !mappingsChecked {
                    try await resumeOrphanedJobs()
                    try await checkMappings()
                    try await checkCounts()
                }
            } catch {
                // The sync reports an unreachable cluster; here it only delays the checks.
                logger.debug("index check failed", metadata: ["error": "\(error)"])
            }
            tick += 1
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.checkInterval) }
        }
        // Jobs stop at their checkpoint; the next start resumes them.
        for task in running.values { task.cancel() }
        for task in running.values { await task.value }
        await database.close()
    }

    /// Makes sure every alias exists; a created (empty) index is refilled.
    /// Concurrent callers share one attempt. The first call also compares
    /// the mappings with the declarations (the sync calls it before its
    /// first write).
    public func ensureIndexes() async throws {
        if let ensuring {
            try await ensuring.value
            return
        }
        let task = Task { try await self.ensureOnce() }
        ensuring = task
        defer { ensuring = nil }
        try await task.value
    }

    private func ensureOnce() async throws {
        for entity in try await indexes.ensure() {
            startJob(entity, mode: .rebuild, reason: "the index was missing and was created empty")
        }
        // Before the sync's first write: a live index from an older
        // declaration gets the new fields, so no document of the new shape
        // is refused while its replacement is built.
        if !mappingsChecked {
            do {
                try await checkMappings()
            } catch {
                logger.warning("could not compare the index mappings with the declarations; retrying", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Starts an index job in the background unless one is running here.
    /// Returns false when one already runs in this process.
    @discardableResult
    public func startJob(_ entity: Entity, mode: IndexJob.Mode, reason: String) -> Bool {
        guard running[entity] == nil else { return false }
        logger.notice("starting index job", metadata: ["entity": "\(entity)", "mode": "\(mode)", "reason": "\(reason)"])
        running[entity] = Task { [builder, logger] in
            do {
                try await builder.run(entity, mode: mode, reason: reason)
            } catch is CancellationError {
            } catch OperationError.jobRunning(let detail) {
                logger.info("index job runs elsewhere", metadata: ["entity": "\(entity)", "detail": "\(detail)"])
            } catch {
                logger.warning("index job failed; it is retried", metadata: ["entity": "\(entity)", "error": "\(error)"])
            }
            self.finished(entity)
        }
        return true
    }

    /// Entities with a job running in this process.
    public var runningJobs: [Entity] { Array(running.keys) }

    private func finished(_ entity: Entity) {
        running[entity] = nil
    }

    private func checkAliases() async throws {
        for entity in Entity.allCases {
            if try await client.aliasTargets(indexes.alias(for: entity)).isEmpty {
                logger.warning("search alias missing: the index was lost; re-creating and rebuilding it",
                               metadata: ["es.alias": "\(indexes.alias(for: entity))"])
                try await ensureIndexes()
                return
            }
        }
    }

    private func resumeOrphanedJobs() async throws {
        let rows = try await query("SELECT entity, mode, reason FROM sync.index_jobs WHERE finished_at IS NULL")
        for row in rows.rows {
            guard let entity = row.string(0).flatMap(Entity.init(rawValue:)), running[entity] == nil,
                  let mode = row.string(1).flatMap(IndexJob.Mode.init(rawValue:)) else { continue }
            // Held by a live runner elsewhere (the CLI)? Then leave it.
            let held = try await query(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int::oid AND objid = j.id::int::oid) FROM sync.index_jobs j WHERE j.entity = $2 AND j.finished_at IS NULL",
                [IndexBuilder.jobLockClass, entity.rawValue]).scalar
            if held == "t" { continue }
            startJob(entity, mode: mode, reason: row.string(2) ?? "resumed")
        }
    }

    /// Compares each live index's mapping with its declaration (`MappingCheck`).
    private func checkMappings() async throws {
        let unfinished = Set(try await query("SELECT entity FROM sync.index_jobs WHERE finished_at IS NULL").rows.compactMap { $0.string(0) })
        let atStart = !mappingsChecked
        for entity in Entity.allCases where running[entity] == nil && !unfinished.contains(entity.rawValue) {
            guard let index = try await client.aliasTargets(indexes.alias(for: entity)).first else { continue }
            let declaration = indexes.declaration(entity)
            let live = try await client.mapping(of: index)
            switch MappingCheck.verdict(live: live, declaration: declaration) {
            case .current:
                drift.clear(entity)
            case .declarationChanged(let builtFrom):
                drift.clear(entity)
                guard atStart else { continue }
                try await bridge(index, live: live, declaration: declaration)
                startJob(entity, mode: .reindex, reason: "the document declaration changed: \(index) was built from "
                         + (builtFrom.map { "declaration \($0)" } ?? "an unrecorded declaration")
                         + ", the service declares \(IndexMappings.declarationHash(declaration))")
            case .drifted:
                let problem = "the mapping of \(index) was changed by hand: it differs from the declaration it was built from"
                if drift.current[entity] == nil { logger.warning("search mapping drift", metadata: ["index": "\(index)", "problem": "\(problem)"]) }
                drift.report(entity, problem)
                guard !driftRepaired.contains(entity) else { continue }
                driftRepaired.insert(entity)
                try await bridge(index, live: live, declaration: declaration)
                startJob(entity, mode: .reindex, reason: "repairing mapping drift: \(problem)")
            }
        }
        mappingsChecked = true
    }

    /// Adds the declared properties the live index lacks, so the live sync's
    /// documents fit it while its replacement is built. A property whose
    /// type changed cannot be added; its documents fit once the alias swaps.
    private func bridge(_ index: String, live: JSONValue, declaration: DocumentDeclaration) async throws {
        guard let missing = MappingCheck.missing(declared: IndexMappings.declaredProperties(declaration),
                                                 live: live["properties"] ?? .object([:])) else { return }
        do {
            try await client.addProperties(missing, to: index)
            logger.notice("added the declaration's new fields to the live index until its replacement is ready",
                          metadata: ["index": "\(index)", "fields": "\(missing.object?.keys.sorted() ?? [])"])
        } catch {
            logger.warning("could not add the new fields to the live index", metadata: ["index": "\(index)", "error": "\(error)"])
        }
    }

    /// Rebuilds an index holding under half of the documents the sync wrote.
    private func checkCounts() async throws {
        let rows = try await query("SELECT entity, count(*) FROM sync.documents WHERE data IS NOT NULL GROUP BY entity")
        for row in rows.rows {
            guard let entity = row.string(0).flatMap(Entity.init(rawValue:)), let expected = row.int(1),
                  expected >= 10, running[entity] == nil else { continue }
            let indexed = try await client.count(indexes.alias(for: entity))
            if indexed * 2 < expected {
                startJob(entity, mode: .rebuild, reason: "document count collapsed: \(indexed) indexed of \(expected)")
            }
        }
    }

    private func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) async throws -> PostgresRows {
        try await database.query(sql, parameters)
    }
}
