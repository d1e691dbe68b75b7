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

/// Inputs the fuzzer found (fuzz/corpus/inflate holds them too).
@Suite struct InflaterRegressionTests {
    /// RFC 7692 §7.2.3.3: a message compressed into a block with BFINAL set.
    /// The 00 00 FF FF the receiver appends then lies past the end of the
    /// stream; inflate took no more input, and the loop never ended.
    @Test func aFinalBlockThenTheTailEndsAndTheNextMessageInflates() throws {
        let inflater = Inflater()
        var output = ByteBuffer()
        try inflater.inflate(ByteBuffer(bytes: [0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00]), into: &output, limit: 1 << 16)
        try inflater.finishMessage(into: &output, limit: 1 << 16)
        #expect(String(buffer: output) == "Hello")
        // The next message starts a new stream.
        var next = ByteBuffer()
        try inflater.inflate(ByteBuffer(bytes: [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]), into: &next, limit: 1 << 16)
        try inflater.finishMessage(into: &next, limit: 1 << 16)
        #expect(String(buffer: next) == "Hello")
    }

    @Test(.timeLimit(.minutes(1))) func theFuzzersInputReturns() {
        let inflater = Inflater()
        var output = ByteBuffer()
        // A final fixed-Huffman block cut short, then the tail: an error or nothing, but an answer.
        _ = try? inflater.inflate(ByteBuffer(bytes: [0x33]), into: &output, limit: 1 << 16)
        _ = try? inflater.finishMessage(into: &output, limit: 1 << 16)
        #expect(output.readableBytes <= 1 << 16)
    }
}

/// Extension headers the fuzzer found (fuzz/corpus/server-handshake).
@Suite struct DeflateOfferRegressionTests {
    /// A parameter without a name indexed an empty array: any client could
    /// crash the server with one upgrade request.
    @Test func parametersWithoutANameAreRefusedNotACrash() {
        #expect(DeflateParameters.negotiate(offers: "permessage-deflate; =") == nil)
        #expect(DeflateParameters.negotiate(offers: "permessage-deflate;;") != nil, "empty parameters are skipped")
        #expect(DeflateParameters.negotiate(offers: "permessage-deflate; =15") == nil)
        #expect(DeflateParameters.negotiate(offers: "x;;;;=;=;, permessage-deflate") == DeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true))
        #expect(DeflateParameters.parseResponse("permessage-deflate; =") == nil)
    }
}
