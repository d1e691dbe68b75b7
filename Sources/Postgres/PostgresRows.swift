import Foundation

/// The rows of a query result, in text format.
public struct PostgresRows: Sendable {
    public var columns: [String]
    public var rows: [[String?]]
    /// Rows affected by an INSERT, UPDATE or DELETE (libpq's PQcmdTuples).
    public var affectedRows: Int

    public init(columns: [String], rows: [[String?]], affectedRows: Int) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
    }

    public var count: Int { rows.count }
    public var isEmpty: Bool { rows.isEmpty }

    /// The first column of the first row, if any.
    public var scalar: String? { rows.first?.first ?? nil }

    public func column(_ name: String) -> Int? { columns.firstIndex(of: name) }

    /// The select expression that reads a timestamp column as a `Date`
    /// (`date(_:)`): seconds since 1970 with microseconds, so every caller
    /// renders times itself, one way, instead of Postgres formatting text.
    public static func epoch(_ column: String) -> String { "extract(epoch FROM \(column))::float8" }
}

extension Array where Element == String? {
    public func int64(_ index: Int) -> Int64? { self[index].flatMap { Int64($0) } }
    public func int(_ index: Int) -> Int? { self[index].flatMap { Int($0) } }
    public func string(_ index: Int) -> String? { self[index] }
    public func bool(_ index: Int) -> Bool? { self[index].map { $0 == "t" } }
    public func double(_ index: Int) -> Double? { self[index].flatMap { Double($0) } }
    /// A timestamp selected as `extract(epoch FROM …)::float8` (see `PostgresRows.epoch`).
    public func date(_ index: Int) -> Date? { double(index).map(Date.init(timeIntervalSince1970:)) }
}
