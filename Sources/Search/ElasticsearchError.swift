/// An error from Elasticsearch or from reaching it.
public struct ElasticsearchError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        /// Connection refused or reset, DNS failure, TLS failure.
        public static let unreachable = Code(raw: "unreachable")
        /// No answer within the request deadline.
        public static let timeout = Code(raw: "timeout")
        /// An HTTP status that is not success; see `status`.
        public static let httpStatus = Code(raw: "httpStatus")
        /// A response we could not decode.
        public static let badResponse = Code(raw: "badResponse")
        public var description: String { raw }
    }

    public var code: Code
    public var status: Int?
    public var message: String
    public var file: String
    public var line: Int

    public init(_ code: Code, status: Int? = nil, _ message: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.status = status
        self.message = message
        self.file = file
        self.line = line
    }

    /// True for failures a later retry can fix: no connection, timeouts,
    /// 429 and 5xx.
    public var isTransient: Bool {
        switch code {
        case .unreachable, .timeout: return true
        case .httpStatus: return status.map { $0 == 429 || $0 >= 500 } ?? false
        default: return false
        }
    }

    public var description: String {
        "Elasticsearch \(code)" + (status.map { " \($0)" } ?? "") + ": " + message
    }
}
