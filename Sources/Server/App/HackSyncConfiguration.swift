import Foundation
import HTTP
import Realtime
import Sync

/// Everything `hacksync serve` needs, resolved from flags and environment.
public struct HackSyncConfiguration: Sendable {
    /// libpq URI or key/value conninfo (`DATABASE_URL`).
    public var databaseURL: String
    /// `http(s)://[user:password@]host:port` (`ELASTICSEARCH_URL`).
    public var elasticsearchURL: String
    /// Admin HTTP listen address (`HACKSYNC_LISTEN`). Loopback by default:
    /// the admin API is not meant to face the internet unguarded.
    public var listenHost = "127.0.0.1"
    public var listenPort = 8080
    /// Connections, request sizes and the request timeout of the HTTP port
    /// (`HACKSYNC_MAX_CONNECTIONS`, `HACKSYNC_REQUEST_TIMEOUT`).
    public var http = HTTPLimits()
    /// Prefix for alias and index names, so several deployments (or tests)
    /// can share one cluster.
    public var indexPrefix = ""
    public var sync = SyncConfiguration()
    /// Documents per bulk request of the live sync (`ElasticsearchDocumentIndex`).
    public var bulkDocuments = ElasticsearchDocumentIndex.defaultDocumentsPerRequest
    /// Live fan-out: queue sizes, the token that unlocks private fields
    /// (`HACKSYNC_PRIVATE_TOKEN`), WebSocket limits.
    public var realtime = RealtimeHub.Configuration()
    /// Token for mutating admin endpoints (`HACKSYNC_ADMIN_TOKEN`); none: they are refused.
    public var adminToken: String?
    /// Pruning of processed change-log rows and events.
    public var retention = RetentionPolicy()
    /// Scheduled reconciliation (`HACKSYNC_RECONCILE`: `1h`, `0 3 * * *`); nil: only on demand.
    public var reconcileSchedule: Schedule?
    /// Browser origins allowed on /ws (`HACKSYNC_ALLOWED_ORIGINS`, comma-separated); empty allows any.
    public var allowedOrigins: [String] = []
    /// A logical replication slot with no subscriber (and WAL waiting) this
    /// long is flagged stalled.
    public var replicationStallAfter: Duration = .seconds(30)
    /// The election of the one instance that syncs (`HACKSYNC_LEADER_LEASE`).
    public var leadership = Leadership.Configuration()

    public init(databaseURL: String, elasticsearchURL: String) {
        self.databaseURL = databaseURL
        self.elasticsearchURL = elasticsearchURL
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// The password in a database URL, Elasticsearch URL or conninfo string, if
/// any (so the log handler can blank it wherever it shows up).
public func databasePassword(_ text: String?) -> String? {
    guard let text else { return nil }
    if text.contains("://") {
        return URLComponents(string: text)?.password  // already percent-decoded
    }
    guard let range = text.range(of: #"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)"#, options: .regularExpression) else { return nil }
    var value = text[range].drop { $0 != "=" }.dropFirst().drop { $0 == " " }
    if value.hasPrefix("'") {
        value = value.dropFirst().dropLast()
        return value.replacingOccurrences(of: "\\'", with: "'").replacingOccurrences(of: "\\\\", with: "\\")
    }
    return String(value)
}

/// A database URL or conninfo with its password replaced by `***`, for logs.
public func redactedDatabaseURL(_ text: String) -> String {
    if text.contains("://") {
        guard var components = URLComponents(string: text) else { return "<unparseable database URL>" }
        if components.password != nil { components.password = "***" }
        if let items = components.queryItems {
            components.queryItems = items.map { $0.name == "password" ? URLQueryItem(name: "password", value: "***") : $0 }
        }
        return components.string ?? "<unparseable database URL>"
    }
    // key=value conninfo: blank out password=..., quoted or not.
    var result = ""
    var rest = Substring(text)
    while let range = rest.range(of: "password") {
        result += rest[..<range.upperBound]
        rest = rest[range.upperBound...]
        let trimmed = rest.drop { $0 == " " }
        guard trimmed.first == "=" else { continue }
        var value = trimmed.dropFirst().drop { $0 == " " }
        if value.first == "'" {
            value = value.dropFirst()
            var escaped = false
            while let c = value.first {
                value = value.dropFirst()
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "'" { break }
            }
        } else {
            value = value.drop { $0 != " " }
        }
        result += "=***"
        rest = value
    }
    return result + rest
}
