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
    /// An array literal (`{1,2,3}`, `{"a b","c\"d"}`); elements are always
    /// quoted so no element can change the literal's shape.
    public var postgresText: String {
        var out = "{"
        for (i, element) in enumerated() {
            if i > 0 { out += "," }
            if element.isNullInArray {
                out += "NULL"
                continue
            }
            out += "\""
            for ch in element.postgresText {
                if ch == "\"" || ch == "\\" { out += "\\" }
                out.append(ch)
            }
            out += "\""
        }
        return out + "}"
    }
}

/// Parses Postgres's text form of a one-dimensional array (`{a,"b c",NULL}`).
public func parsePostgresArray(_ text: String) -> [String?] {
    var result: [String?] = []
    var chars = Substring(text)
    guard chars.first == "{", chars.last == "}" else { return [text] }
    chars = chars.dropFirst().dropLast()
    if chars.isEmpty { return [] }
    var current = ""
    var quoted = false
    var wasQuoted = false
    var escape = false
    for ch in chars {
        if escape { current.append(ch); escape = false; continue }
        if quoted {
            if ch == "\\" { escape = true } else if ch == "\"" { quoted = false } else { current.append(ch) }
            continue
        }
        switch ch {
        case "\"": quoted = true; wasQuoted = true
        case ",":
            result.append(!wasQuoted && current == "NULL" ? nil : current)
            current = ""; wasQuoted = false
        default: current.append(ch)
        }
    }
    result.append(!wasQuoted && current == "NULL" ? nil : current)
    return result
}
