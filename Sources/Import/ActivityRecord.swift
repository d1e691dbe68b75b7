import Foundation
import Model

/// One source record, as a row of `activity_events`.
public struct ActivityRecord: Sendable, Equatable {
    public var id: String
    public var kind: String?
    public var userID: Int64?
    public var projectID: Int64?
    public var occurredAt: EventTimestamp
    /// The whole record, as JSON text.
    public var payload: String

    /// Which of a record's fields carry what (the default shape's names).
    public struct Fields: Sendable, Equatable {
        public var id = "id"
        public var kind = "type"
        public var user = "userId"
        public var project = "projectId"
        public var timestamp = "timestamp"

        public init() {}
    }

    /// A record the import cannot take, and why; kept with its JSON.
    public struct Rejection: Error, Sendable, Equatable {
        public var sourceID: String?
        public var reason: String
        public var raw: String
    }

    /// Reads a record. An id is a non-empty string or an integer; the time
    /// is any `EventTimestamp` format; user and project are integers (or
    /// strings of digits), anything else is left to the payload.
    public static func parse(_ value: JSONValue, fields: Fields = Fields()) -> Result<ActivityRecord, Rejection> {
        let raw = value.description
        guard case .object = value else {
            return .failure(Rejection(sourceID: nil, reason: "the record is not a JSON object", raw: raw))
        }
        guard !Self.holdsNUL(raw) else {
            return .failure(Rejection(sourceID: nil, reason: "the record holds a NUL character, which Postgres text cannot", raw: raw.replacingOccurrences(of: "\\u0000", with: "\\ufffd")))
        }
        let id: String
        switch value[fields.id] {
        case .string(let text)? where !text.isEmpty: id = text
        case .number(let number)? where number == number.rounded() && abs(number) < 1e15: id = String(Int64(number))
        default: return .failure(Rejection(sourceID: nil, reason: "no id (\(fields.id): a non-empty string or an integer)", raw: raw))
        }
        guard let time = value[fields.timestamp] else {
            return .failure(Rejection(sourceID: id, reason: "no \(fields.timestamp)", raw: raw))
        }
        guard let occurredAt = EventTimestamp(time) else {
            return .failure(Rejection(sourceID: id, reason: "\(fields.timestamp) \(time) is in no known format", raw: raw))
        }
        return .success(ActivityRecord(id: id, kind: value[fields.kind]?.string, userID: reference(value[fields.user]),
                                       projectID: reference(value[fields.project]), occurredAt: occurredAt, payload: raw))
    }

    /// Whether the JSON text escapes a NUL (`\u0000`).
    static func holdsNUL(_ json: String) -> Bool {
        let escape: [UInt8] = Array("\\u0000".utf8)
        var utf8 = json.utf8[...]
        while let backslash = utf8.firstIndex(of: UInt8(ascii: "\\")) {
            let rest = utf8[backslash...]
            if rest.starts(with: escape) { return true }
            // An escaped backslash is not the start of an escape.
            utf8 = rest.dropFirst(rest.dropFirst().first == UInt8(ascii: "\\") ? 2 : 1)
        }
        return false
    }

    private static func reference(_ value: JSONValue?) -> Int64? {
        switch value {
        case .number(let number)? where number == number.rounded() && abs(number) < 9e15: Int64(number)
        case .string(let text)?: Int64(text)
        default: nil
        }
    }
}
