import Foundation
import Model
import NIOCore
import Postgres
import Search
import Server
import Sync
import Synchronization
import Testing

/// The document declarations against the real database and search server:
/// the documents Postgres builds have exactly the declared fields, every
/// column a document reads is captured, and an index built from another
/// declaration (or changed by hand) is replaced with no manual step and
/// nothing dead-lettered.
@Suite(.integration) struct DeclarationTests {
    typealias Field = DocumentDeclaration.Field

    /// A small platform where every relation has a row: a participant, a
    /// project with members and a creator, one without a creator.
    static func platform(_ f: SyncFixture) async throws -> (user: Int64, hackathon: Int64, project: Int64) {
        let ada = try await f.insertUser("ada")
        let bob = try await f.insertUser("bob")
        let hackathon = try await f.insertHackathon("HackWeek")
        try await f.sql("INSERT INTO hackathon_participants (hackathon_id, user_id) VALUES ($1, $2), ($1, $3)", [hackathon, ada, bob])
        let project = try await f.insertProject("Compass", hackathon: hackathon, createdBy: ada, members: [ada, bob])
        _ = try await f.insertProject("Orphan", hackathon: hackathon, createdBy: nil)
        try await f.sql("UPDATE users SET bio = 'compilers', skills = '{swift}', college = 'Girton'")
        try await f.sql("UPDATE projects SET description = 'maps', repo_url = 'https://example.org/' || id")
        return (ada, hackathon, project)
    }

    /// Problems with `value` as a document (or embedded row) of `fields`.
    static func mismatches(_ value: JSONValue, _ fields: [Field], at path: String) -> [String] {
        let keys = Set(value.object?.keys.map { $0 } ?? [])
        let declared = Set(fields.map(\.name))
        var problems = keys == declared ? [] : ["\(path): has \(keys.sorted()), declared \(declared.sorted())"]
        for field in fields {
            switch field.source {
            case .one(_, _, let inner):
                if let row = value[field.name], row != .null { problems += mismatches(row, inner, at: "\(path).\(field.name)") }
            case .many(_, _, let inner):
                for row in value[field.name]?.array ?? [] { problems += mismatches(row, inner, at: "\(path).\(field.name)[]") }
            default:
                continue
            }
        }
        return problems
    }

    @Test func everyBuiltDocumentHasExactlyItsDeclaredFields() async throws {
        try await SyncFixture.with(sync: false) { f in
            _ = try await Self.platform(f)
            for entity in Entity.allCases {
                let declaration = DocumentDeclarations.declaration(entity)
                let documents = try await f.expectedDocuments(entity)
                #expect(!documents.isEmpty)
                for (id, document) in documents {
                    let problems = Self.mismatches(document, declaration.fields, at: "\(entity)/\(id)")
                    #expect(problems.isEmpty, "\(problems)")
                }
            }
            // Embedded rows exist in this data, so the check above looked inside them.
            #expect(try await f.expectedDocuments(.projects).values.contains { ($0["members"]?.array?.count ?? 0) == 2 })
        }
    }

    /// Every column a declaration reads, changed on its own, makes the
    /// documents that show it affected: the capture and the cascades agree
    /// with the declarations.
    @Test func everyColumnADocumentReadsIsCapturedAndCascades() async throws {
        try await SyncFixture.with(sync: false) { f in
            let rows = try await Self.platform(f)
            let ids: [Entity: Int64] = [.users: rows.user, .hackathons: rows.hackathon, .projects: rows.project]
            // The row of each table that the documents above embed.
            let rowOf: [String: Int64] = ["users": rows.user, "hackathons": rows.hackathon, "projects": rows.project]
            for entity in Entity.allCases {
                let declaration = DocumentDeclarations.declaration(entity)
                // (table, column, the row to change: nil for the document's own row, else
                // the foreign key of the document's row that names it)
                var reads: [(table: String, column: String, via: String?)] = []
                for field in declaration.fields {
                    switch field.source {
                    case .column(let column, _): reads.append((declaration.table, column, nil))
                    case .one(let table, let foreignKey, let inner):
                        // The embedded row's columns first: changing the key moves the document to another row.
                        reads += inner.compactMap { if case .column(let c, _) = $0.source { (table, c, foreignKey) } else { nil } }
                        reads.append((declaration.table, foreignKey, nil))
                    case .many(let table, _, let inner):
                        reads += inner.compactMap { if case .column(let c, _) = $0.source { (table, c, nil) } else { nil } }
                    case .count, .latest:
                        continue
                    }
                }
                for (table, column, via) in reads where column != "id" {
                    let row = try #require(try await via.asyncMap { key in
                        try await f.sql("SELECT \(key) FROM \(declaration.table) WHERE id = $1", [ids[entity]!]).rows[0].int64(0)
                    } ?? (table == declaration.table ? ids[entity] : rowOf[table]))
                    let before = try await f.sql("SELECT coalesce(max(seq), 0) FROM sync.changes").rows[0].int64(0)!
                    try await f.sql("UPDATE \(table) SET \(column) = \(try await Self.differentValue(f, table, column, row)) WHERE id = $1", [row])
                    let affected = try await f.sql(
                        "SELECT count(*) FROM sync.affected_documents(ARRAY(SELECT seq FROM sync.changes WHERE seq > $1)) WHERE entity = $2 AND id = $3",
                        [before, entity.rawValue, ids[entity]!]).scalar
                    #expect(affected == "1", "\(table).\(column) changed: \(entity)/\(ids[entity]!) must be rewritten")
                }
            }
        }
    }

    /// An SQL expression for a value of `table.column` other than the row's.
    static func differentValue(_ f: SyncFixture, _ table: String, _ column: String, _ id: Int64) async throws -> String {
        let type = try await f.sql("SELECT data_type FROM information_schema.columns WHERE table_name = $1 AND column_name = $2",
                                   [table, column]).scalar ?? ""
        switch type {
        case "ARRAY": return "array_append(\(column), 'changed')"
        case "timestamp with time zone": return "coalesce(\(column), now()) + interval '1 day'"
        case "bigint", "integer":
            // A foreign key: another row of the table it references.
            let other = try await f.sql("INSERT INTO \(column == "hackathon_id" ? "hackathons (name)" : "users (username, email)") VALUES "
                                        + (column == "hackathon_id" ? "('Other')" : "('other\(id)', 'other\(id)@x')") + " RETURNING id").rows[0].int64(0)!
            return "\(other)"
        default: return "coalesce(\(column), '') || ' changed'"
        }
    }

    /// The issue's walk-through: a field added to a temporary copy of the
    /// declarations (and its column to the table), one migrate, and the
    /// service started again against the existing index. The new field
    /// reaches every document, nothing is dead-lettered, searches are
    /// answered throughout, and the alias swaps once.
    @Test func aFieldAddedToTheDeclarationsReachesEveryDocumentWithoutDowntime() async throws {
        try await SyncFixture.with(sync: false) { f in
            // Before: the index as the shipped declarations built it, full.
            let ada = try await f.insertUser("ada")
            let hackathon = try await f.insertHackathon("HackWeek")
            for i in 0..<300 { _ = try await f.insertProject("P\(i)", hackathon: hackathon, createdBy: ada, members: [ada]) }
            let builder = IndexBuilder(database: f.connector, client: f.es, indexes: f.indexes, logger: f.logger)
            for entity in Entity.allCases { try await builder.run(entity, mode: .rebuild, reason: "before") }
            try await f.sql("UPDATE sync.changes SET processed_at = now()")
            let jobsBefore = try await f.sql("SELECT coalesce(max(id), 0) FROM sync.index_jobs").rows[0].int64(0)!
            let alias = f.indexes.alias(for: .projects)
            let oldIndex = try #require(try await f.es.aliasTargets(alias).first)

            // The edit: a column, and one field in a copy of the declarations.
            try await f.sql("ALTER TABLE projects ADD COLUMN github_url text")
            try await f.sql("UPDATE projects SET github_url = 'https://github.com/hacksync/' || id")
            var projects = DocumentDeclarations.projects
            projects.fields.append(.column("github_url", .keyword))
            let declarations = [DocumentDeclarations.users, DocumentDeclarations.hackathons, projects]
            #expect(try await DeclaredSQL.migrator(directory: TestEnvironment.triggers, declarations: declarations)
                .migrate(f.db, logger: f.logger) == [DeclaredSQL.name])

            // Searches all along; every one must be answered.
            let searches = Atomic(0), failed = Atomic(0), searching = Atomic(true)
            let searcher = Task {
                while searching.load(ordering: .relaxed) {
                    let response = try? await f.es.send(.POST, "/\(alias)/_search", body: ByteBuffer(string: #"{"size":1}"#), timeout: .seconds(10))
                    searches.add(1, ordering: .relaxed)
                    if response?.status != 200 { failed.add(1, ordering: .relaxed) }
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            defer { searching.store(false, ordering: .relaxed) }

            // The service again, with the new declarations: the guard checks
            // the mappings before the sync's first write, as `serve` wires it.
            let indexes = SearchIndexes(client: f.es, prefix: f.prefix, declarations: declarations, logger: f.logger)
            let indexGuard = IndexGuard(database: f.connector, client: f.es, indexes: indexes, checkInterval: .milliseconds(100), logger: f.logger)
            try await f.startSync(ensureIndexes: { try await indexGuard.ensureIndexes() })
            let guardTask = Task { try await indexGuard.run() }
            defer { guardTask.cancel() }
            // Writes of the new field keep coming while the new index is built: they are captured.
            for i in 0..<50 { try await f.sql("UPDATE projects SET github_url = 'https://example.org/' || $1::int WHERE name = $2", [i, "P\(i)"]) }

            try await eventually(timeout: .seconds(60), "the alias to move to an index of the new declaration") {
                guard let target = try await f.es.aliasTargets(alias).first, target != oldIndex else { return "still on \(oldIndex)" }
                let mapping = try await f.es.mapping(of: target)
                return MappingCheck.verdict(live: mapping, declaration: projects) == .current ? nil : "\(target) is not current"
            }
            try await f.waitForConvergence(timeout: .seconds(60))
            let indexed = try await f.indexedDocuments(.projects)
            #expect(indexed.count == 300)
            #expect(indexed.values.allSatisfy { $0["github_url"]?.string?.hasPrefix("https://") == true })
            #expect(indexed.values.filter { $0["github_url"]?.string?.hasPrefix("https://example.org/") == true }.count == 50)
            #expect(try await f.sql("SELECT count(*) FROM sync.dead_letters").scalar == "0", "no write was refused by the old index")
            let jobs = try await f.sql("SELECT entity, mode, reason FROM sync.index_jobs WHERE id > $1", [jobsBefore]).rows
            #expect(jobs.count == 1, "the alias swapped once, and only for projects")
            #expect(jobs.first?.string(0) == "projects" && jobs.first?.string(1) == "reindex"
                    && jobs.first?.string(2)?.contains("declaration changed") == true)
            #expect(try await !f.es.indexExists(oldIndex))
            searching.store(false, ordering: .relaxed)
            _ = await searcher.value
            #expect(searches.load(ordering: .relaxed) > 10)
            #expect(failed.load(ordering: .relaxed) == 0, "every search answered during the change")
        }
    }

    @Test func aMappingChangedByHandIsReportedAndReplaced() async throws {
        try await SyncFixture.with(sync: false) { f in
            let ada = try await f.insertUser("ada")
            let alias = f.indexes.alias(for: .users)
            let index = try #require(try await f.es.aliasTargets(alias).first)
            try await f.es.addProperties(.object(["added_by_hand": .object(["type": .string("keyword")])]), to: index)

            let indexGuard = IndexGuard(database: f.connector, client: f.es, indexes: f.indexes, checkInterval: .milliseconds(100), logger: f.logger)
            try await f.startSync(ensureIndexes: { try await indexGuard.ensureIndexes() })
            let guardTask = Task { try await indexGuard.run() }
            defer { guardTask.cancel() }

            try await eventually(timeout: .seconds(30), "a repair of the drift") {
                let reason = try await f.sql("SELECT reason FROM sync.index_jobs WHERE entity = 'users' AND finished_at IS NOT NULL").scalar
                return reason?.contains("changed by hand") == true ? nil : "no finished repair (\(reason ?? "none"))"
            }
            try await eventually("the drift report to clear") { indexGuard.drift.current.isEmpty ? nil : "\(indexGuard.drift.current)" }
            let repaired = try #require(try await f.es.aliasTargets(alias).first)
            #expect(repaired != index)
            #expect(MappingCheck.verdict(live: try await f.es.mapping(of: repaired), declaration: DocumentDeclarations.users) == .current)
            #expect(try await f.indexed(.users, ada) != nil)
        }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T?) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
