import Model
import NIOCore

/// Index and alias administration.
extension ElasticsearchClient {
    /// Cluster name and version from `GET /`; throws when unreachable.
    public func ping(timeout: TimeAmount = .seconds(5)) async throws -> String {
        struct Info: Decodable {
            struct Version: Decodable { var number: String? }
            var cluster_name: String?
            var version: Version?
        }
        let info = try await expectSuccess(.GET, "/", timeout: timeout).decode(Info.self)
        return "\(info.cluster_name ?? "?") \(info.version?.number ?? "?")"
    }

    /// The indexes an alias points at; empty when the alias does not exist.
    public func aliasTargets(_ alias: String) async throws -> [String] {
        let response = try await send(.GET, "/_alias/\(alias)")
        if response.status == 404 { return [] }
        guard response.isSuccess else {
            throw ElasticsearchError(.httpStatus, status: response.status, "GET /_alias/\(alias): \(response.text.prefix(300))")
        }
        return try response.decode([String: IgnoredValue].self).keys.sorted()
    }

    /// Names of existing indexes that start with `prefix`. (A wildcard
    /// `_settings` lookup, not `_cat/indices`: the in-memory test server can
    /// hang `_cat/indices` while indexes are created concurrently.)
    public func indexNames(startingWith prefix: String) async throws -> [String] {
        let response = try await expectSuccess(.GET, "/\(prefix)*/_settings?allow_no_indices=true&ignore_unavailable=true")
        return try response.decode([String: IgnoredValue].self).keys.filter { $0.hasPrefix(prefix) }.sorted()
    }

    public func indexExists(_ name: String) async throws -> Bool {
        let response = try await send(.HEAD, "/\(name)")
        if response.status == 404 { return false }
        guard response.isSuccess else {
            throw ElasticsearchError(.httpStatus, status: response.status, "HEAD /\(name)")
        }
        return true
    }

    public func createIndex(_ name: String, definition: String) async throws {
        try await expectSuccess(.PUT, "/\(name)", json: definition)
    }

    /// The mapping of one index (`dynamic`, `_meta`, `properties`).
    public func mapping(of index: String) async throws -> JSONValue {
        let response = try await expectSuccess(.GET, "/\(index)/_mapping")
        guard let mapping = try JSONValue.parse(response.body.readableBytesView)[index]?["mappings"] else {
            throw ElasticsearchError(.httpStatus, status: response.status, "GET /\(index)/_mapping: no mappings for \(index)")
        }
        return mapping
    }

    /// Adds properties to an index's mapping (Elasticsearch merges them;
    /// changing an existing property's type is refused).
    public func addProperties(_ properties: JSONValue, to index: String) async throws {
        try await expectSuccess(.PUT, "/\(index)/_mapping", json: #"{"properties":\#(properties)}"#)
    }

    public func deleteIndex(_ name: String) async throws {
        let response = try await send(.DELETE, "/\(name)")
        guard response.isSuccess || response.status == 404 else {
            throw ElasticsearchError(.httpStatus, status: response.status, "DELETE /\(name): \(response.text.prefix(300))")
        }
    }

    /// One step of an atomic `_aliases` update.
    public enum AliasAction: Sendable, Equatable {
        case add(index: String, alias: String)
        case remove(index: String, alias: String)

        var json: String {
            switch self {
            case .add(let index, let alias): #"{"add":{"index":"\#(index)","alias":"\#(alias)"}}"#
            case .remove(let index, let alias): #"{"remove":{"index":"\#(index)","alias":"\#(alias)"}}"#
            }
        }
    }

    /// Applies alias changes in one atomic step: readers see all of them or none.
    public func updateAliases(_ actions: [AliasAction]) async throws {
        try await expectSuccess(.POST, "/_aliases", json: #"{"actions":[\#(actions.map(\.json).joined(separator: ","))]}"#)
    }

    /// Points `alias` at `index` and away from `remove`, in one atomic step.
    public func moveAlias(_ alias: String, to index: String, removingFrom remove: [String] = []) async throws {
        try await updateAliases(remove.map { .remove(index: $0, alias: alias) } + [.add(index: index, alias: alias)])
    }

    public func refresh(_ index: String) async throws {
        try await expectSuccess(.POST, "/\(index)/_refresh")
    }

    public func count(_ index: String) async throws -> Int {
        struct Count: Decodable { var count: Int }
        return try await expectSuccess(.GET, "/\(index)/_count").decode(Count.self).count
    }
}

/// Decodes any JSON value and keeps nothing.
public struct IgnoredValue: Decodable, Sendable {
    public init(from decoder: Decoder) throws {}
}
