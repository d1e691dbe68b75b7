import Foundation
import Model
import NIOCore
import NIOHTTP1

/// A complete HTTP request as the admin routes see it.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    public var uri: String
    public var headers: HTTPHeaders
    public var body: ByteBuffer
    /// The caller's `X-Request-Id` when it is a sane token, else a fresh one;
    /// echoed in the response and logged as `request_id`.
    public var id: String

    public init(method: HTTPMethod, uri: String, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
        self.id = Self.requestID(from: headers)
    }

    /// A client's id is kept if it is 1–64 characters of `A-Z a-z 0-9 . _ -`.
    static func requestID(from headers: HTTPHeaders) -> String {
        if let given = headers["X-Request-Id"].first, (1...64).contains(given.utf8.count),
           given.utf8.allSatisfy({ $0 == 45 || $0 == 46 || $0 == 95 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }) {
            return given
        }
        return String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    /// The path without the query string.
    public var path: String {
        String(uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    /// Query parameters, percent-decoded; the last value of a repeated key wins.
    public var query: [String: String] {
        guard let q = uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
        var result: [String: String] = [:]
        for pair in q.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(parts[0])
            result[key] = parts.count > 1 ? Self.decode(parts[1]) : ""
        }
        return result
    }

    /// The token of an `Authorization: Bearer <token>` header, if any.
    public static func bearerToken(in headers: HTTPHeaders) -> String? {
        guard let header = headers["Authorization"].first, header.lowercased().hasPrefix("bearer ") else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    static func decode(_ text: Substring) -> String {
        let plus = text.replacingOccurrences(of: "+", with: " ")
        return plus.removingPercentEncoding ?? plus
    }
}

/// A response to write back.
public struct HTTPResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response from already-encoded JSON text.
    public static func json(_ text: String, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        return HTTPResponse(status: status, headers: headers, body: ByteBuffer(string: text))
    }

    /// `{"error": "..."}` with the given status.
    public static func error(_ status: HTTPResponseStatus, _ message: String) -> HTTPResponse {
        json(#"{"error":\#(jsonQuoted(message)),"status":\#(status.code)}"#, status: status)
    }

    /// A refusal written before any route ran, on a connection that closes
    /// after it: the JSON error as a response head and body.
    static func refusal(_ status: HTTPResponseStatus, _ message: String, headers extra: HTTPHeaders = [:]) -> (HTTPResponseHead, ByteBuffer) {
        let response = error(status, message)
        var headers = response.headers
        headers.add(contentsOf: extra)
        headers.add(name: "Content-Length", value: String(response.body.readableBytes))
        headers.add(name: "Connection", value: "close")
        return (HTTPResponseHead(version: .http1_1, status: status, headers: headers), response.body)
    }
}

/// Anything that answers HTTP requests.
public protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest) async -> HTTPResponse
}
