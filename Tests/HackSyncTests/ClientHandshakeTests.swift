import NIOCore
import NIOHTTP1
import Testing
import WebSocket

@Suite struct ClientHandshakeTests {
    let key = "dGhlIHNhbXBsZSBub25jZQ=="
    // RFC 6455 §1.3's example answer, followed by a text frame "1" and a close frame.
    var wire: [UInt8] {
        Array(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n").utf8) + [0x81, 0x01, 0x31, 0x88, 0x02, 0x03, 0xE8]
    }

    @Test func theHeadIsParsedAtEverySplitAndTheFramesBehindItAreKept() throws {
        for split in 1..<wire.count {
            var buffer = ByteBuffer(bytes: wire[..<split])
            var response = try ClientHandshake.parseResponse(&buffer)
            let complete = response != nil
            if !complete { #expect(buffer.readableBytes == split, "an incomplete head must leave the bytes alone") }
            buffer.writeBytes(wire[split...])
            if !complete { response = try ClientHandshake.parseResponse(&buffer) }
            let head = try #require(response)
            #expect(head.status == 101)
            #expect(Array(buffer.readableBytesView) == [0x81, 0x01, 0x31, 0x88, 0x02, 0x03, 0xE8])
            #expect(try ClientHandshake.validate(head, key: key) == nil)
        }
    }

    @Test func aWrongAcceptAnotherStatusOrAnUnofferedExtensionIsRefused() throws {
        func head(_ status: Int, _ headers: [(String, String)]) -> ClientHandshake.Response {
            ClientHandshake.Response(status: status, headers: HTTPHeaders(headers))
        }
        let upgrade = [("Upgrade", "websocket"), ("Connection", "Upgrade")]
        #expect(throws: ClientHandshake.Failure.self) {
            try ClientHandshake.validate(head(101, upgrade + [("Sec-WebSocket-Accept", "wrong")]), key: key)
        }
        #expect(throws: ClientHandshake.Failure.self) {
            try ClientHandshake.validate(head(403, []), key: key)
        }
        #expect(throws: ClientHandshake.Failure.self) {
            try ClientHandshake.validate(head(101, [("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")]), key: key)
        }
        #expect(throws: ClientHandshake.Failure.self) {
            try ClientHandshake.validate(head(101, upgrade + [("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
                                                              ("Sec-WebSocket-Extensions", "x-unknown")]), key: key)
        }
        let deflate = try ClientHandshake.validate(
            head(101, upgrade + [("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
                                 ("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover")]), key: key)
        #expect(deflate?.serverNoContextTakeover == true)
    }

    /// A header name that is not a token trapped in NIO's HTTPHeaders: a
    /// server could crash the client (found by the fuzzer, fuzz/corpus/client-handshake).
    @Test func aHeaderNameThatIsNotATokenIsAnError() {
        for name in ["Upgr\u{9D}de", "Bad Name", ""] {
            var buffer = ByteBuffer(string: "HTTP/1.1 101 Switching Protocols\r\n\(name): websocket\r\n\r\n")
            #expect(throws: ClientHandshake.Failure.self) { _ = try ClientHandshake.parseResponse(&buffer) }
        }
    }

    @Test func garbageAndOversizedHeadsAreErrors() {
        var garbage = ByteBuffer(string: "SSH-2.0-OpenSSH\r\n\r\n")
        #expect(throws: ClientHandshake.Failure.self) { try ClientHandshake.parseResponse(&garbage) }
        var endless = ByteBuffer(string: "HTTP/1.1 101 OK\r\nX: " + String(repeating: "a", count: ClientHandshake.maxHeadSize))
        #expect(throws: ClientHandshake.Failure.self) { try ClientHandshake.parseResponse(&endless) }
    }

    @Test func theRequestIsOneHTTPHead() {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "127.0.0.1:80")
        headers.add(name: "Sec-WebSocket-Key", value: key)
        let request = String(buffer: ClientHandshake.request(path: "/ws?x=1", headers: headers))
        #expect(request == "GET /ws?x=1 HTTP/1.1\r\nHost: 127.0.0.1:80\r\nSec-WebSocket-Key: \(key)\r\n\r\n")
    }
}
