import Foundation
import NIOHTTP1

/// The opening handshake (RFC 6455 §4).
public enum Handshake {
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
    public static func acceptValue(forKey key: String) -> String {
        Data(SHA1.hash(Array((key + guid).utf8))).base64EncodedString()
    }

    /// A fresh random `Sec-WebSocket-Key` (16 random bytes, base64).
    public static func randomKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
    }

    public struct Rejection: Error, Equatable, Sendable {
        public var status: HTTPResponseStatus
        public var message: String
        public var headers: HTTPHeaders

        public init(status: HTTPResponseStatus, message: String, headers: HTTPHeaders) {
            self.status = status
            self.message = message
            self.headers = headers
        }
    }

    /// What the server agreed to.
    public struct Accepted: Sendable {
        public var headers: HTTPHeaders
        public var deflate: DeflateParameters?
    }

    /// Validates an upgrade request; returns the response headers or why not.
    /// `allowedOrigins` empty means any origin (non-browser clients send none).
    public static func accept(
        _ head: HTTPRequestHead,
        allowedOrigins: [String] = [],
        enableDeflate: Bool = true
    ) -> Result<Accepted, Rejection> {
        func reject(_ status: HTTPResponseStatus, _ message: String, _ headers: HTTPHeaders = [:]) -> Result<Accepted, Rejection> {
            .failure(Rejection(status: status, message: message, headers: headers))
        }
        guard head.method == .GET else { return reject(.methodNotAllowed, "WebSocket upgrades use GET", ["Allow": "GET"]) }
        guard head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1) else {
            return reject(.badRequest, "WebSocket needs HTTP/1.1")
        }
        guard tokens(head.headers, "Upgrade").contains("websocket") else {
            return reject(.badRequest, "missing Upgrade: websocket")
        }
        guard tokens(head.headers, "Connection").contains("upgrade") else {
            return reject(.badRequest, "missing Connection: Upgrade")
        }
        guard head.headers["Sec-WebSocket-Version"].first?.trimmingCharacters(in: .whitespaces) == "13" else {
            return reject(.upgradeRequired, "only WebSocket version 13 is supported", ["Sec-WebSocket-Version": "13"])
        }
        guard let key = head.headers["Sec-WebSocket-Key"].first?.trimmingCharacters(in: .whitespaces),
              Data(base64Encoded: key)?.count == 16
        else {
            return reject(.badRequest, "Sec-WebSocket-Key must be 16 bytes, base64")
        }
        if !allowedOrigins.isEmpty {
            guard let origin = head.headers["Origin"].first, allowedOrigins.contains(origin) else {
                return reject(.forbidden, "origin not allowed")
            }
        }
        var headers = HTTPHeaders()
        headers.add(name: "Upgrade", value: "websocket")
        headers.add(name: "Connection", value: "Upgrade")
        headers.add(name: "Sec-WebSocket-Accept", value: acceptValue(forKey: key))
        var deflate: DeflateParameters?
        if enableDeflate {
            let offers = head.headers["Sec-WebSocket-Extensions"].joined(separator: ",")
            if let chosen = DeflateParameters.negotiate(offers: offers) {
                deflate = chosen
                headers.add(name: "Sec-WebSocket-Extensions", value: chosen.responseHeader)
            }
        }
        return .success(Accepted(headers: headers, deflate: deflate))
    }

    /// Lower-cased comma-separated tokens of a header.
    static func tokens(_ headers: HTTPHeaders, _ name: String) -> [String] {
        headers[name].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    }
}
