import Foundation
import HTTP
import NIOHTTP1

/// The admin API's one JSON convention: snake_case keys, sorted, and dates
/// as RFC 3339 in UTC with milliseconds.
enum AdminJSON {
    static func response<T: Encodable>(_ value: T, status: HTTPResponseStatus = .ok) throws -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(timestamp(date))
        }
        return .json(String(decoding: try encoder.encode(value), as: UTF8.self), status: status)
    }

    /// `2026-12-02T05:13:00.123Z`.
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }
}
