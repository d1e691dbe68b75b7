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
        #expect(m.close(at: .now) == .sendClose)
        #expect(m.close(at: .now) == .alreadyClosing)
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

    // Timing: the clock is passed in, so these run in no time.
    let start = ContinuousClock.now
    func timed() -> WebSocketStateMachine {
        WebSocketStateMachine(role: .server, maxMessageSize: 1 << 20, deflate: nil, pingInterval: .seconds(30),
                              idleTimeout: .seconds(75), closeTimeout: .seconds(5), now: start)
    }

    @Test func anIdleConnectionIsPingedThenClosedWhenNothingComesBack() {
        var m = timed()
        #expect(m.nextTimer == start + .seconds(30))
        #expect(m.timerFired(at: start + .seconds(29)) == .none)
        #expect(m.timerFired(at: start + .seconds(30)) == .sendPing)
        #expect(m.nextTimer == start + .seconds(60))
        #expect(m.timerFired(at: start + .seconds(60)) == .sendPing)
        // 90 s without a byte from the peer (two pongs missed): close 1001, then wait for its answer.
        #expect(m.timerFired(at: start + .seconds(90)) == .closeIdle)
        #expect(m.phase == .closeSent)
        #expect(m.nextTimer == start + .seconds(95))
        #expect(m.timerFired(at: start + .seconds(94)) == .none)
        #expect(m.timerFired(at: start + .seconds(95)) == .disconnect)
        #expect(m.phase == .closed)
        #expect(m.nextTimer == nil)
    }

    @Test func whatArrivesKeepsTheConnectionAlive() {
        var m = timed()
        #expect(m.timerFired(at: start + .seconds(30)) == .sendPing)
        m.received(at: start + .seconds(31))  // the pong
        #expect(m.timerFired(at: start + .seconds(60)) == .sendPing)
        #expect(m.timerFired(at: start + .seconds(90)) == .sendPing)  // 59 s since the pong
        #expect(m.timerFired(at: start + .seconds(120)) == .closeIdle)
    }

    @Test func anAnsweredCloseNeedsNoTimeoutAndAnUnansweredOneDisconnects() {
        var answered = timed()
        #expect(answered.close(at: start + .seconds(1)) == .sendClose)
        #expect(answered.nextTimer == start + .seconds(6))
        #expect(answered.receive(WebSocketFrame(opcode: .close)) == .disconnect)
        #expect(answered.nextTimer == nil)
        #expect(answered.timerFired(at: start + .seconds(6)) == .none)

        var unanswered = timed()
        #expect(unanswered.close(at: start + .seconds(1)) == .sendClose)
        #expect(unanswered.timerFired(at: start + .seconds(30)) == .disconnect)  // no ping while closing
    }

    @Test func withoutAPingIntervalOnlyACloseSchedulesATimer() {
        var m = machine()
        #expect(m.nextTimer == nil)
        _ = m.close(at: start)
        #expect(m.nextTimer == start + .seconds(5))
    }
}
