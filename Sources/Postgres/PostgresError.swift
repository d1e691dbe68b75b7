import Foundation

/// An error from Postgres or from talking to it.
///
/// `description` never contains the connection string: libpq's messages name
/// host and port at most, and configuration is only ever logged redacted.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public static let connectionFailed = Code(raw: "connectionFailed")
        public static let connectionLost = Code(raw: "connectionLost")
        public static let queryFailed = Code(raw: "queryFailed")
        public static let unexpectedResult = Code(raw: "unexpectedResult")
        public static let closed = Code(raw: "closed")
        /// No answer within the connection's query timeout (a hung server,
        /// a network cut without a reset): the connection is given up.
        public static let timeout = Code(raw: "timeout")
        public var description: String { raw }
    }

    public var code: Code
    public var message: String
    /// The five-character SQLSTATE, when the server sent one.
    public var sqlState: String?
    public var file: String
    public var line: Int

    public init(_ code: Code, _ message: String, sqlState: String? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.file = file
        self.line = line
    }

    /// True when the connection is gone and only a new one can help.
    public var isConnectionError: Bool {
        code == .connectionFailed || code == .connectionLost || code == .closed || code == .timeout
            || sqlState?.hasPrefix("08") == true || sqlState?.hasPrefix("57P") == true
    }

    public var description: String {
        var text = "Postgres \(code)"
        if let sqlState { text += " [\(sqlState)]" }
        return text + ": " + message.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

