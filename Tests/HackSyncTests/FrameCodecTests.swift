import NIOCore
import Testing
import WebSocket

@Suite struct FrameCodecTests {
    let server = FrameParser(role: .server, maxFrameSize: 1 << 20)
    let client = FrameParser(role: .client, maxFrameSize: 1 << 20)

    func roundTrip(_ payloadLength: Int) throws {
        let payload = ByteBuffer(bytes: (0..<payloadLength).map { UInt8(truncatingIfNeeded: $0 * 7) })
        var wire = FrameEncoder.encode(WebSocketFrame(opcode: .binary, payload: payload), maskKey: 0x1234_5678)
        let frame = try #require(try server.parse(&wire))
        #expect(frame.payload == payload)
        #expect(frame.opcode == .binary && frame.fin)
        #expect(wire.readableBytes == 0)
    }

    @Test(arguments: [0, 1, 7, 8, 9, 125, 126, 127, 65535, 65536, 200_000])
    func everyPayloadLengthEncodingRoundTrips(length: Int) throws {
        try roundTrip(length)
    }

    @Test func theRFCsMaskedHelloParses() throws {
        // RFC 6455 §5.7: a single-frame masked text message "Hello".
        var wire = ByteBuffer(bytes: [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
        let frame = try #require(try server.parse(&wire))
        #expect(String(buffer: frame.payload) == "Hello")
    }

    @Test func anIncompleteFrameWaitsForMoreBytesWithoutConsuming() throws {
        let full = FrameEncoder.encode(WebSocketFrame(opcode: .text, payload: ByteBuffer(string: "Hello, world")), maskKey: 1)
        for cut in 0..<full.readableBytes {
            var partial = full.getSlice(at: 0, length: cut)!
            #expect(try server.parse(&partial) == nil)
            #expect(partial.readableBytes == cut)
        }
    }

    @Test func clientFramesMustBeMaskedAndServerFramesMustNot() {
        var unmasked = FrameEncoder.encode(WebSocketFrame(opcode: .text, payload: ByteBuffer(string: "x")))
        #expect(throws: WebSocketProtocolError(.protocolError, "client frames must be masked")) { try server.parse(&unmasked) }
        var masked = FrameEncoder.encode(WebSocketFrame(opcode: .text, payload: ByteBuffer(string: "x")), maskKey: 9)
        #expect(throws: WebSocketProtocolError(.protocolError, "server frames must not be masked")) { try client.parse(&masked) }
    }

    @Test func oversizedFramesAreRefusedFromTheHeaderWith1009() {
        let small = FrameParser(role: .server, maxFrameSize: 100)
        var header = ByteBuffer(bytes: [0x82, 0xFF, 0, 0, 0, 0, 0x10, 0, 0, 0])  // claims 256 MiB, no payload sent
        #expect { try small.parse(&header) } throws: { ($0 as? WebSocketProtocolError)?.closeCode == .messageTooBig }
    }

    @Test func controlFramesAreShortAndUnfragmented() {
        var longPing = ByteBuffer(bytes: [0x89, 0xFE, 0x00, 0x80])
        #expect { try server.parse(&longPing) } throws: { ($0 as? WebSocketProtocolError)?.closeCode == .protocolError }
        var fragmentedPing = ByteBuffer(bytes: [0x09, 0x80, 0, 0, 0, 0])
        #expect { try server.parse(&fragmentedPing) } throws: { ($0 as? WebSocketProtocolError)?.closeCode == .protocolError }
    }

    @Test func reservedOpcodesAndNonMinimalLengthsAreProtocolErrors() {
        var reserved = ByteBuffer(bytes: [0x83, 0x80, 0, 0, 0, 0])
        #expect { try server.parse(&reserved) } throws: { ($0 as? WebSocketProtocolError)?.closeCode == .protocolError }
        var nonMinimal = ByteBuffer(bytes: [0x82, 0xFE, 0x00, 0x05, 0, 0, 0, 0, 1, 2, 3, 4, 5])
        #expect { try server.parse(&nonMinimal) } throws: { ($0 as? WebSocketProtocolError)?.closeCode == .protocolError }
    }

    @Test func wordAtATimeUnmaskingMatchesTheBytewiseDefinition() {
        let key: UInt32 = 0xA1B2_C3D4
        let keyBytes: [UInt8] = [0xA1, 0xB2, 0xC3, 0xD4]
        for length in [0, 1, 3, 8, 13, 64, 1001] {
            let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 5) }
            let expected = data.enumerated().map { $1 ^ keyBytes[$0 % 4] }
            #expect(Array(unmask(ByteBuffer(bytes: data), key: key).readableBytesView) == expected)
        }
    }

    @Test func closePayloadsCarryCodeAndATruncatedValidReason() {
        var payload = FrameEncoder.closePayload(.slowConsumer, reason: String(repeating: "é", count: 100))
        #expect(payload.readInteger(as: UInt16.self) == 4008)
        #expect(payload.readableBytes <= 123)
        #expect(String(validating: Array(payload.readableBytesView), as: UTF8.self) != nil)
    }
}

@Suite struct UTF8ValidatorTests {
    func valid(_ bytes: [UInt8], splitAt cut: Int? = nil) -> Bool {
        var validator = UTF8Validator()
        if let cut {
            return validator.feed(bytes[..<cut]) && validator.feed(bytes[cut...]) && validator.isComplete
        }
        return bytes.withUnsafeBytes { validator.feed($0) } && validator.isComplete
    }

    @Test func acceptsValidTextIncludingAcrossSplits() {
        let text = Array("κόσμε — hello — 𝄞 — 日本語, plus a longer ASCII run".utf8)
        #expect(valid(text))
        for cut in 0...text.count { #expect(valid(text, splitAt: cut)) }
    }

    @Test(arguments: [
        [0xC0, 0xAF],              // overlong
        [0xED, 0xA0, 0x80],        // surrogate
        [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
        [0xFF],
        [0x80],                    // lone continuation
        [0xE2, 0x82],              // truncated at the end
    ] as [[UInt8]])
    func rejectsInvalidSequences(bytes: [UInt8]) {
        #expect(!valid(bytes))
    }

    @Test func failsFastAtTheFirstBadByte() {
        var validator = UTF8Validator()
        let accepted = validator.feed([0x61, 0xC0])
        #expect(!accepted)
    }
}

@Suite struct HandshakeTests {
    @Test func acceptValueMatchesTheRFCExample() {
        #expect(Handshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func sha1MatchesKnownVectors() {
        func hex(_ s: String) -> String { SHA1.hash(Array(s.utf8)).map { String(format: "%02x", $0) }.joined() }
        #expect(hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(String(repeating: "a", count: 1000)) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }
}

import Foundation
