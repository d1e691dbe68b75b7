import NIOCore
import Testing
import WebSocket

@Suite struct WebSocketStateMachineTests {
    func machine(deflate: DeflateParameters? = nil, max: Int = 1 << 20) -> WebSocketStateMachine {
        WebSocketStateMachine(role: .server, maxMessageSize: max, deflate: deflate)
    }
    func text(_ s: String, fin: Bool = true, opcode: WebSocketFrame.Opcode = .text) -> WebSocketFrame {
        WebSocketFrame(fin: fin, opcode: opcode, payload: ByteBuffer(string: s))
    }

    @Test func fragmentsReassembleWithControlFramesInBetween() {
        var m = machine()
        #expect(m.receive(text("Hel", fin: false)) == .none)
        #expect(m.receive(WebSocketFrame(opcode: .ping, payload: ByteBuffer(string: "p"))) == .send(WebSocketFrame(opcode: .pong, payload: ByteBuffer(string: "p"))))
        #expect(m.receive(text("lo", fin: true, opcode: .continuation)) == .deliver(.text(ByteBuffer(string: "Hello"))))
    }

    @Test func continuationWithoutAStartAndANewMessageMidFragmentAreProtocolErrors() {
        var a = machine()
        #expect(a.receive(text("x", opcode: .continuation)) == .sendCloseAndDisconnect(.protocolError, "continuation without a message"))
        var b = machine()
        _ = b.receive(text("x", fin: false))
        if case .sendCloseAndDisconnect(.protocolError, _) = b.receive(text("y")) {} else { Issue.record("expected 1002") }
    }

    @Test func invalidUTF8FailsFastAcrossFragmentsWith1007() {
        var m = machine()
        #expect(m.receive(WebSocketFrame(fin: false, opcode: .text, payload: ByteBuffer(bytes: [0x61, 0xE2]))) == .none)
        if case .sendCloseAndDisconnect(.invalidPayload, _) = m.receive(WebSocketFrame(fin: false, opcode: .continuation, payload: ByteBuffer(bytes: [0x28]))) {
        } else { Issue.record("expected 1007 before the message ends") }
    }

    @Test func reservedBitsWithoutAnExtensionAreProtocolErrors() {
        var m = machine()
        if case .sendCloseAndDisconnect(.protocolError, _) = m.receive(WebSocketFrame(rsv1: true, opcode: .text)) {} else { Issue.record("expected 1002") }
        var d = machine(deflate: DeflateParameters())
        if case .sendCloseAndDisconnect(.protocolError, _) = d.receive(WebSocketFrame(rsv1: true, opcode: .ping)) {} else { Issue.record("RSV1 on a control frame") }
    }

    @Test func messagesOverTheLimitClose1009() {
        var m = machine(max: 8)
        _ = m.receive(text("12345", fin: false))
        if case .sendCloseAndDisconnect(.messageTooBig, _) = m.receive(text("67890", opcode: .continuation)) {} else { Issue.record("expected 1009") }
    }

    @Test func theCloseHandshakeEchoesTheCodeAndRejectsBadOnes() {
        var m = machine()
        var payload = ByteBuffer()
        payload.writeInteger(UInt16(1001))
        #expect(m.receive(WebSocketFrame(opcode: .close, payload: payload)) == .sendCloseAndDisconnect(.goingAway, ""))
        #expect(m.phase == .closed)

        var bad = machine()
        var code = ByteBuffer()
        code.writeInteger(UInt16(1005))
        if case .sendCloseAndDisconnect(.protocolError, _) = bad.receive(WebSocketFrame(opcode: .close, payload: code)) {} else { Issue.record("1005 on the wire") }
        var short = machine()
        if case .sendCloseAndDisconnect(.protocolError, _) = short.receive(WebSocketFrame(opcode: .close, payload: ByteBuffer(bytes: [3]))) {} else { Issue.record("1-byte close") }
    }

    @Test func afterWeSentCloseThePeersCloseEndsTheConnection() {
        var m = machine()
        m.closeSent()
        #expect(m.receive(WebSocketFrame(opcode: .ping)) == .none)
        #expect(m.receive(WebSocketFrame(opcode: .close)) == .disconnect)
    }

    @Test func compressedFragmentsInflateAndTheInflaterIsReleasedWithoutContext() {
        var m = machine(deflate: DeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true))
        let text = String(repeating: "hackathon ", count: 100)
        let compressed = Deflater().compress(ByteBuffer(string: text), reset: true)
        let half = compressed.readableBytes / 2
        #expect(m.receive(WebSocketFrame(fin: false, rsv1: true, opcode: .text, payload: compressed.getSlice(at: 0, length: half)!)) == .none)
        #expect(m.holdsInflater)
        let last = WebSocketFrame(fin: true, opcode: .continuation, payload: compressed.getSlice(at: half, length: compressed.readableBytes - half)!)
        #expect(m.receive(last) == .deliver(.text(ByteBuffer(string: text))))
        #expect(!m.holdsInflater, "an idle connection holds no zlib state")
    }
}
