import NIOCore
import NIOHTTP1

/// The client side of the opening handshake (RFC 6455 §4.1), done on raw
/// bytes: the request, the response head, and its validation. Whatever
/// follows the response head in the same read is already WebSocket data.
public enum ClientHandshake {
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// A response head: status code and headers.
    public struct Response: Equatable, Sendable {
        public var status: Int
        public var headers: HTTPHeaders

        public init(status: Int, headers: HTTPHeaders) {
            self.status = status
            self.headers = headers
        }
    }

    /// Response heads larger than this are refused.
    public static let maxHeadSize = 16 * 1024

    /// The upgrade request's bytes.
    public static func request(path: String, headers: HTTPHeaders) -> ByteBuffer {
        var text = "GET \(path) HTTP/1.1\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return ByteBuffer(string: text)
    }

    /// Reads a complete response head from the front of `buffer`, leaving the
    /// bytes after it; nil (and `buffer` untouched) while it is incomplete.
    public static func parseResponse(_ buffer: inout ByteBuffer) throws(Failure) -> Response? {
        let view = buffer.readableBytesView
        guard let end = headEnd(view) else {
            if view.count > maxHeadSize { throw Failure(description: "the handshake response head exceeds \(maxHeadSize) bytes") }
            return nil
        }
        guard end - view.startIndex <= maxHeadSize else {
            throw Failure(description: "the handshake response head exceeds \(maxHeadSize) bytes")
        }
        let text = String(decoding: view[view.startIndex..<end], as: UTF8.self)
        buffer.moveReaderIndex(forwardBy: end - view.startIndex + 4)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw Failure(description: "not an HTTP response: \(text.prefix(80))")
        }
        var headers = HTTPHeaders()
        for line in lines {
            // A name must be a token (RFC 9110 §5.1): NIO's headers trap on anything
            // that is not ASCII, so a server could otherwise crash the client.
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex,
                  line[..<colon].utf8.allSatisfy(Self.isTokenByte) else {
                throw Failure(description: "malformed response header line: \(line.prefix(80))")
            }
            headers.add(name: String(line[..<colon]), value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Response(status: status, headers: headers)
    }

    /// A header name's byte (RFC 9110 §5.6.2 tchar).
    public static func isTokenByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            || "!#$%&'*+-.^_`|~".utf8.contains(byte)
    }

    /// Checks the server's answer to our `key`; returns the agreed deflate
    /// parameters (nil for none).
    public static func validate(_ response: Response, key: String) throws(Failure) -> DeflateParameters? {
        guard response.status == 101 else {
            throw Failure(description: "the server answered \(response.status) instead of upgrading to WebSocket")
        }
        guard Handshake.tokens(response.headers, "Upgrade").contains("websocket"),
              Handshake.tokens(response.headers, "Connection").contains("upgrade")
        else { throw Failure(description: "the 101 response lacks Upgrade: websocket / Connection: Upgrade") }
        guard response.headers["Sec-WebSocket-Accept"].first == Handshake.acceptValue(forKey: key) else {
            throw Failure(description: "wrong Sec-WebSocket-Accept")
        }
        let extensions = response.headers["Sec-WebSocket-Extensions"].joined(separator: ",")
        guard let agreed = DeflateParameters.parseResponse(extensions) else {
            throw Failure(description: "the server chose an extension we did not offer: \(extensions)")
        }
        return agreed
    }

    private static func headEnd(_ view: ByteBufferView) -> Int? {
        var index = view.startIndex
        while index + 3 < view.endIndex {
            if view[index] == 13, view[index + 1] == 10, view[index + 2] == 13, view[index + 3] == 10 { return index }
            index += 1
        }
        return nil
    }
}
