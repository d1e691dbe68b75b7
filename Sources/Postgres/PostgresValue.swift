/// A value that can be sent as a query parameter in Postgres's text format.
/// Queries are always parameterized: values never become part of the SQL.
public protocol PostgresEncodable: Sendable {
    var postgresText: String { get }
    /// True for the element that stands for SQL NULL inside an array.
    var isNullInArray: Bool { get }
}

extension PostgresEncodable {
    public var isNullInArray: Bool { false }
}

/// An array element that may be NULL (`[.value("a"), .null]` → `{"a",NULL}`).
public enum PostgresArrayElement: PostgresEncodable, Equatable {
    case value(String)
    case null

    public var postgresText: String {
        if case .value(let text) = self { return text }
        return "NULL"
    }

    public var isNullInArray: Bool { self == .null }
}

extension String: PostgresEncodable {
    public var postgresText: String { self }
}

extension Int: PostgresEncodable {
    public var postgresText: String { String(self) }
}

extension Int64: PostgresEncodable {
    public var postgresText: String { String(self) }
}

extension Int32: PostgresEncodable {
    public var postgresText: String { String(self) }
}

extension Double: PostgresEncodable {
    public var postgresText: String { String(self) }
}

extension Bool: PostgresEncodable {
    public var postgresText: String { self ? "t" : "f" }
}

extension Array: PostgresEncodable where Element: PostgresEncodable {
    /// An array literal (`{1,2,3}`, `{"a b","c\"d"}`); elements other than
    /// bigints are always quoted so no element can change the literal's shape.
    public var postgresText: String {
        // Built as bytes, and bigints without the generic path: the sync
        // sends arrays of 100,000 seqs, and appending Characters through
        // the unspecialised generic code cost ~1 µs an element. `"` and `\`
        // are single bytes that never occur inside a multi-byte UTF-8 sequence.
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(count * 8 + 2)
        if let integers = self as? [Int64] {
            for integer in integers {
                if out.count > 1 { out.append(UInt8(ascii: ",")) }
                out += String(integer).utf8
            }
        } else {
            for element in self {
                if out.count > 1 { out.append(UInt8(ascii: ",")) }
                if element.isNullInArray {
                    out += "NULL".utf8
                    continue
                }
                out.append(UInt8(ascii: "\""))
                for byte in element.postgresText.utf8 {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                    out.append(byte)
                }
                out.append(UInt8(ascii: "\""))
            }
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

/// Parses Postgres's text form of a one-dimensional bigint array
/// (`{1,-2,3}`), as bytes; nil when it is not one (a NULL element included).
public func parsePostgresInt64Array(_ text: String) -> [Int64]? {
    var utf8 = text.utf8.makeIterator()
    guard utf8.next() == UInt8(ascii: "{") else { return nil }
    var result: [Int64] = []
    var value: Int64 = 0, negative = false, digits = 0
    while let byte = utf8.next() {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            digits += 1
        case UInt8(ascii: "-") where digits == 0 && !negative:
            negative = true
        case UInt8(ascii: ","), UInt8(ascii: "}"):
            if digits == 0 {
                // `{}` is the empty array; anything else without digits is not ours.
                guard byte == UInt8(ascii: "}"), result.isEmpty, !negative else { return nil }
            } else {
                result.append(negative ? -value : value)
            }
            if byte == UInt8(ascii: "}") { return utf8.next() == nil ? result : nil }
            value = 0; negative = false; digits = 0
        default:
            return nil
        }
    }
    return nil
}

