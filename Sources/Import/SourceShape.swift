import Foundation
import Model

/// How a paginated source is asked for pages and how its answers read.
///
/// By default: `GET URL?limit=N[&cursor=C]` answers
/// `{"data":[…], "pagination":{"hasMore":bool, "nextCursor":string|null}}`,
/// optionally with `pagination.total` (records in all) and
/// `pagination.cursorTtl` (seconds a cursor stays valid). A source that can
/// also start after a given id (`after=<id>`, records in id order) lets an
/// expired cursor be recovered without starting over.
public struct SourceShape: Sendable, Equatable {
    public var recordsPath = "data"
    public var cursorPath = "pagination.nextCursor"
    public var hasMorePath = "pagination.hasMore"
    public var totalPath = "pagination.total"
    public var cursorTTLPath = "pagination.cursorTtl"
    public var limitParameter = "limit"
    public var cursorParameter = "cursor"
    /// Starts after this record id; nil: the source has no such parameter.
    public var resumeParameter: String? = "after"
    /// A source that splits its records into disjoint partitions, read in
    /// parallel: `partition=i&partitions=n` (0 ≤ i < n), each with its own cursors.
    public var partitionParameter = "partition"
    public var partitionsParameter = "partitions"

    public init() {}

    /// Where a page starts.
    public enum Position: Sendable, Equatable {
        case start
        case cursor(String)
        /// After the record with this id (an expired cursor's recovery).
        case after(String)
    }

    /// One of `count` disjoint partitions of the source's records.
    public struct Partition: Sendable, Equatable {
        public var index: Int
        public var count: Int

        public init(_ index: Int, of count: Int) {
            self.index = index
            self.count = count
        }
    }

    /// The page's URL: the source's own query kept, ours appended.
    public func url(_ source: String, at position: Position, limit: Int, partition: Partition? = nil) -> String {
        var parameters = [(limitParameter, String(limit))]
        if let partition {
            parameters += [(partitionParameter, String(partition.index)), (partitionsParameter, String(partition.count))]
        }
        switch position {
        case .start: break
        case .cursor(let cursor): parameters.append((cursorParameter, cursor))
        case .after(let id): if let resumeParameter { parameters.append((resumeParameter, id)) }
        }
        let query = parameters.map { "\(Self.escape($0))=\(Self.escape($1))" }.joined(separator: "&")
        return source + (source.contains("?") ? "&" : "?") + query
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// One page as the source sent it.
    public struct Page: Sendable, Equatable {
        public var records: [JSONValue]
        public var nextCursor: String?
        public var hasMore: Bool
        public var total: Int?
        public var cursorTTL: Double?
    }

    /// What an answer means for the import.
    public enum Answer: Sendable, Equatable {
        case page(Page)
        /// 429: wait as announced (the pacer), then ask again.
        case rateLimited
        /// 5xx, 408, a body cut short: ask again after a backoff.
        case transient(String)
        /// The cursor was refused (expired, unknown): resume from the checkpoint.
        case cursorRejected(String)
        /// The page size was refused: ask for smaller pages.
        case pageSizeRejected(String)
        /// Anything else (401, 403, a body of another shape): stop and say why.
        case failed(String)
    }

    /// Reads an answer to a request that sent `position`.
    public func classify(status: Int, body: [UInt8], position: Position) -> Answer {
        let excerpt = String(decoding: body.prefix(300), as: UTF8.self)
        switch status {
        case 200..<300:
            guard let json = try? JSONValue.parse(body) else { return .transient("the page is not JSON (\(body.count) bytes)") }
            guard let records = json[path: recordsPath]?.array else {
                return .failed("the page has no list at \(recordsPath): \(excerpt)")
            }
            let cursor = json[path: cursorPath]?.string.flatMap { $0.isEmpty ? nil : $0 }
            var hasMore = cursor != nil
            if case .bool(let more)? = json[path: hasMorePath] { hasMore = more && cursor != nil }
            let total = json[path: totalPath]?.number.map { Int($0) }
            let ttl = json[path: cursorTTLPath]?.number
            return .page(Page(records: records, nextCursor: cursor, hasMore: hasMore, total: total, cursorTTL: ttl))
        case 429:
            return .rateLimited
        case 408, 500..<600:
            return .transient("HTTP \(status): \(excerpt)")
        case 400..<500:
            let lowered = excerpt.lowercased()
            if position != .start, lowered.contains("cursor") || (status == 410) {
                return .cursorRejected("HTTP \(status): \(excerpt)")
            }
            if status == 400 || status == 422, lowered.contains(limitParameter.lowercased()) {
                return .pageSizeRejected("HTTP \(status): \(excerpt)")
            }
            return .failed("HTTP \(status): \(excerpt)")
        default:
            return .failed("HTTP \(status): \(excerpt)")
        }
    }
}
