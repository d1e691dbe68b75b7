import Foundation
import HTTP
import NIOHTTP1

/// The admin API's one JSON convention: snake_case keys, sorted, and dates
/// as RFC 3339 in UTC with milliseconds.
/// The CLI's `--json` output follows it too.
public enum AdminJSON {
    static func response<T: Encodable>(_ value: T, status: HTTPResponseStatus = .ok) throws -> HTTPResponse {
        .json(String(decoding: try encoder().encode(value), as: UTF8.self), status: status)
    }

    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(timestamp(date))
        }
        return encoder
    }

    /// `2026-12-02T05:13:00.123Z`.
    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }
}
