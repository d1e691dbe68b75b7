/// Scrubs credentials from text before it reaches a log: passwords in URLs
/// (`scheme://user:password@`), `password=` in conninfo strings and query
/// strings, `token=` query parameters, `Bearer` tokens, and any configured
/// secret (admin token, private token, database password) wherever it appears.
/// The code already logs redacted URLs; this is the net under all of it.
public struct LogRedaction: Sendable {
    public static let mask = "***"
    /// Exact secrets to blank; shorter than 4 characters are ignored
    /// (they would blank ordinary words).
    public let secrets: [String]

    public init(secrets: [String?] = []) {
        self.secrets = Array(Set(secrets.compactMap { $0 }.filter { $0.count >= 4 })).sorted { $0.count > $1.count }
    }

    private nonisolated(unsafe) static let patterns: [Regex<AnyRegexOutput>] = [
        // scheme://user:password@host → scheme://user:***@host
        try! Regex(#"(?<keep>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)[^\s@/]*(?=@)"#),
        // password=..., token=..., access_token=... (conninfo and query strings), quoted or not
        try! Regex(#"(?i)(?<keep>\b(?:password|passwd|token|access_token|api_key|secret)\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s&'",]+)"#),
        // Authorization: Bearer ... / Basic ...
        try! Regex(#"(?i)(?<keep>\b(?:bearer|basic)\s+)[A-Za-z0-9\-._~+/=]+"#),
    ]

    /// `text` with every credential replaced by `***`.
    public func scrub(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Self.mask)
        }
        for pattern in Self.patterns {
            result = result.replacing(pattern) { match in
                (match.output["keep"]?.substring.map(String.init) ?? "") + Self.mask
            }
        }
        return result
    }
}
