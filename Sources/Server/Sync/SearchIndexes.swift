import Logging
import Search
import Sync

/// The aliases HackSync writes to and the versioned indexes behind them
/// (`projects` → `projects_v1`). Creates what is missing.
public struct SearchIndexes: Sendable {
    let client: ElasticsearchClient
    /// Prepended to every alias and index name (tests use one per test).
    public let prefix: String
    let logger: Logger

    public init(client: ElasticsearchClient, prefix: String = "", logger: Logger) {
        self.client = client
        self.prefix = prefix
        self.logger = logger
    }

    public func alias(for entity: Entity) -> String { prefix + entity.rawValue }

    /// Makes sure every alias exists and points at an index with our mappings.
    public func ensure() async throws {
        for entity in Entity.allCases {
            try await ensure(entity)
        }
    }

    /// The index an alias points at, creating `<alias>_v<n>` if it points nowhere.
    @discardableResult
    public func ensure(_ entity: Entity) async throws -> String {
        let alias = alias(for: entity)
        if let current = try await client.aliasTargets(alias).first { return current }
        let existing = try await client.indexNames(startingWith: alias + "_v")
        let next = (existing.compactMap { Int($0.dropFirst(alias.count + 2)) }.max() ?? 0) + 1
        let name = "\(alias)_v\(next)"
        guard let definition = IndexMappings.definition(for: entity.rawValue) else {
            preconditionFailure("no mappings for \(entity)")
        }
        try await client.createIndex(name, definition: definition)
        try await client.moveAlias(alias, to: name)
        logger.notice("created search index", metadata: ["es.index": "\(name)", "es.alias": "\(alias)"])
        return name
    }
}
