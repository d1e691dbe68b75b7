import Logging
import Model
import Search
import Sync

/// The aliases HackSync writes to and the versioned indexes behind them
/// (`projects` → `projects_v1`), and the document declarations their
/// mappings come from. Creates what is missing.
public struct SearchIndexes: Sendable {
    public let client: ElasticsearchClient
    /// Prepended to every alias and index name (tests use one per test).
    public let prefix: String
    private let declarations: [Entity: DocumentDeclaration]
    let logger: Logger

    /// `declarations`: the service's (`DocumentDeclarations`); a test passes an edited copy.
    public init(client: ElasticsearchClient, prefix: String = "",
                declarations: [DocumentDeclaration] = Entity.allCases.map(DocumentDeclarations.declaration), logger: Logger) {
        self.client = client
        self.prefix = prefix
        self.declarations = Dictionary(uniqueKeysWithValues: declarations.map { ($0.entity, $0) })
        self.logger = logger
    }

    /// The declaration of `entity`'s documents.
    public func declaration(_ entity: Entity) -> DocumentDeclaration {
        declarations[entity] ?? DocumentDeclarations.declaration(entity)
    }

    /// The index definition for `entity`, from its declaration.
    public func definition(_ entity: Entity) -> String {
        IndexMappings.definition(for: declaration(entity))
    }

    public func alias(for entity: Entity) -> String { prefix + entity.rawValue }

    /// Makes sure every alias exists and points at an index with our mappings.
    /// Returns the entities whose index had to be created (it is empty).
    @discardableResult
    public func ensure() async throws -> [Entity] {
        var created: [Entity] = []
        for entity in Entity.allCases {
            if try await ensure(entity).created { created.append(entity) }
        }
        return created
    }

    /// The index an alias points at, creating `<alias>_v<n>` if it points
    /// nowhere (`created` is then true).
    @discardableResult
    public func ensure(_ entity: Entity) async throws -> (index: String, created: Bool) {
        let alias = alias(for: entity)
        if let current = try await client.aliasTargets(alias).first { return (current, false) }
        try await removeStrayIndex(named: alias)
        let name = try await nextIndexName(entity)
        let definition = self.definition(entity)
        do {
            try await client.createIndex(name, definition: definition)
        } catch let error as ElasticsearchError where error.status == 400 {
            // Created meanwhile by another caller: use it if it got the alias.
            if let current = try await client.aliasTargets(alias).first { return (current, false) }
            throw error
        }
        try await client.moveAlias(alias, to: name)
        logger.notice("created search index", metadata: ["index": "\(name)", "es.alias": "\(alias)"])
        return (name, true)
    }

    /// A bulk *delete* aimed at a missing alias makes Elasticsearch create a
    /// concrete index of that name (`require_alias` only guards index
    /// actions), and then the alias cannot be created. Such an index holds no
    /// documents (every index action requires the alias): it is removed. One
    /// that holds documents is someone else's, and we stop with a clear error.
    func removeStrayIndex(named alias: String) async throws {
        // Only a concrete index of exactly this name (HEAD and _count match aliases too).
        guard try await client.indexNames(startingWith: alias).contains(alias) else { return }
        let documents = try await client.count(alias)
        guard documents == 0 else {
            throw ElasticsearchError(.httpStatus, status: 400,
                                     "an index named \(alias) holds \(documents) documents where HackSync needs an alias; rename or delete it")
        }
        try await client.deleteIndex(alias)
        logger.warning("removed an empty index that a delete had auto-created in place of the alias", metadata: ["index": "\(alias)"])
    }

    /// `<alias>_v<n>` with n one above the highest existing.
    public func nextIndexName(_ entity: Entity) async throws -> String {
        let alias = alias(for: entity)
        let existing = try await client.indexNames(startingWith: alias + "_v")
        let next = (existing.compactMap { Int($0.dropFirst(alias.count + 2)) }.max() ?? 0) + 1
        return "\(alias)_v\(next)"
    }
}
