import Foundation
import Postgres

/// The SQL files in `triggers/replication/` and the psql-style variables in
/// them: `:"name"` becomes a quoted identifier, `:'name'` a quoted literal,
/// exactly as `psql -v name=value` would substitute them.
public enum ReplicationSQL {
    /// The publication `triggers/replication/publication.sql` creates.
    public static let publication = "hacksync_platform"
    /// The default subscription (and slot) name.
    public static let defaultSubscription = "hacksync_replica"

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// A subscription or slot name Postgres will keep as written: lower-case
    /// letters, digits and underscores, at most 63 bytes, not starting with a digit.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, (1...63).contains(name.utf8.count), !(48...57).contains(first) else { return false }
        return name.utf8.allSatisfy { $0 == 95 || (48...57).contains($0) || (97...122).contains($0) }
    }

    /// `'it''s'`: a standard-conforming string literal.
    public static func quoteLiteral(_ text: String) throws(Failure) -> String {
        guard !text.contains("\0") else { throw Failure(description: "a NUL byte cannot be part of an SQL literal") }
        return "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    /// `sql` without its `--` comment lines and with every `:"var"` and
    /// `:'var'` replaced; a variable that is used but not given is an error.
    public static func substitute(_ sql: String, _ variables: [String: String]) throws(Failure) -> String {
        var lines: [Substring] = []
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false)
        where !line.trimmingCharacters(in: .whitespaces).hasPrefix("--") {
            lines.append(line)
        }
        // One pass, left to right: substituted values are never scanned again.
        let text = Array(lines.joined(separator: "\n"))
        var output = ""
        var index = 0
        while index < text.count {
            let quote = index + 1 < text.count ? text[index + 1] : " "
            guard text[index] == ":", quote == "\"" || quote == "'" else {
                output.append(text[index])
                index += 1
                continue
            }
            guard let end = text[(index + 2)...].firstIndex(of: quote) else {
                throw Failure(description: "unterminated variable at \(String(text[index...].prefix(20)))")
            }
            let name = String(text[(index + 2)..<end])
            guard let value = variables[name] else { throw Failure(description: "no value for :\(quote)\(name)\(quote)") }
            output += quote == "'" ? try quoteLiteral(value) : quoteIdentifier(value)
            index = end + 1
        }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A file of `triggers/replication/` (or of `triggers/` for the schema).
    static func file(_ name: String, in migrations: URL) throws -> String {
        let url = name.hasPrefix("V") ? migrations.appendingPathComponent(name)
            : migrations.appendingPathComponent("replication").appendingPathComponent(name)
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw Failure(description: "cannot read \(url.path): \(error.localizedDescription)")
        }
    }
}
