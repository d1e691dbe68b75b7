import NIOCore
import Testing
import WebSocket

@Suite struct DeflateNegotiationTests {
    @Test func theServerAlwaysTurnsContextTakeoverOff() {
        let chosen = DeflateParameters.negotiate(offers: "permessage-deflate; client_max_window_bits")
        #expect(chosen == DeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true))
        #expect(chosen?.responseHeader == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    }

    @Test func aRequestedServerWindowIsHonoured() {
        let chosen = DeflateParameters.negotiate(offers: "permessage-deflate; server_max_window_bits=10")
        #expect(chosen?.serverMaxWindowBits == 10)
        #expect(chosen?.responseHeader.contains("server_max_window_bits=10") == true)
    }

    @Test func invalidOffersAreSkippedForTheNextOne() {
        #expect(DeflateParameters.negotiate(offers: "permessage-deflate; server_max_window_bits=7") == nil)
        #expect(DeflateParameters.negotiate(offers: "permessage-deflate; server_max_window_bits") == nil)
        #expect(DeflateParameters.negotiate(offers: "permessage-deflate; client_no_context_takeover=1") == nil)
        #expect(DeflateParameters.negotiate(offers: "permessage-deflate; foo") == nil)
        #expect(DeflateParameters.negotiate(offers: "permessage-deflate; server_no_context_takeover; server_no_context_takeover") == nil)
        #expect(DeflateParameters.negotiate(offers: "x-webkit-deflate-frame") == nil)
        let second = DeflateParameters.negotiate(offers: "permessage-deflate; bogus, permessage-deflate; server_max_window_bits=12")
        #expect(second?.serverMaxWindowBits == 12)
    }

    @Test func theClientChecksTheServersAnswer() {
        #expect(DeflateParameters.parseResponse("") == .some(nil))
        #expect(DeflateParameters.parseResponse("permessage-deflate; client_max_window_bits=9") == .some(DeflateParameters(clientMaxWindowBits: 9)))
        #expect(DeflateParameters.parseResponse("permessage-deflate; client_max_window_bits") == nil)
        #expect(DeflateParameters.parseResponse("permessage-deflate; unknown") == nil)
        #expect(DeflateParameters.parseResponse("permessage-deflate, permessage-deflate") == nil)
    }
}

@Suite struct DeflateRoundTripTests {
    @Test(arguments: [9, 12, 15])
    func messagesInflateBackWithAndWithoutContext(windowBits: Int) throws {
        let deflater = Deflater(windowBits: windowBits)
        let inflater = Inflater()
        for (i, reset) in [false, false, true, false].enumerated() {
            let text = String(repeating: "{\"name\":\"project \(i)\",\"members\":[1,2,3]}", count: 50)
            let compressed = deflater.compress(ByteBuffer(string: text), reset: reset)
            #expect(compressed.readableBytes < text.utf8.count / 4)
            var out = ByteBuffer()
            try inflater.inflate(compressed, into: &out, limit: 1 << 20)
            try inflater.finishMessage(into: &out, limit: 1 << 20)
            #expect(String(buffer: out) == text)
        }
    }

    @Test func aDecompressionBombStopsAtTheLimitWith1009() {
        let bomb = Deflater().compress(ByteBuffer(repeating: 0, count: 4 << 20), reset: true)
        var out = ByteBuffer()
        #expect { try Inflater().inflate(bomb, into: &out, limit: 1 << 20) } throws: {
            ($0 as? WebSocketProtocolError)?.closeCode == .messageTooBig
        }
    }

    @Test func corruptDataIsRejected() {
        var out = ByteBuffer()
        #expect { try Inflater().inflate(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF]), into: &out, limit: 1 << 20) } throws: {
            ($0 as? WebSocketProtocolError)?.closeCode == .invalidPayload
        }
    }
}
