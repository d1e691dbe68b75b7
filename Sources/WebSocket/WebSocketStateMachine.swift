import NIOCore

/// The receiving side of a WebSocket connection (RFC 6455 §5–7, RFC 7692):
/// reassembles fragmented messages, inflates compressed ones, validates text
/// as it arrives, answers pings and runs the close handshake; and its timing:
/// when to ping, when a silent peer is given up, when an unanswered close
/// ends the connection. Frames and the time in, actions out; the I/O shell
/// performs the actions and calls `timerFired` at `nextTimer`.
public struct WebSocketStateMachine {
    public typealias Instant = ContinuousClock.Instant

    public enum Phase: Sendable, Equatable {
        case open
        /// We sent a close frame and wait for the peer's.
        case closeSent
        case closed
    }

    public enum Message: Sendable, Equatable {
        case text(ByteBuffer)
        case binary(ByteBuffer)
    }

    public enum Action: Sendable, Equatable {
        case none
        case deliver(Message)
        case send(WebSocketFrame)
        /// Send a close frame, then close the TCP connection.
        case sendCloseAndDisconnect(WebSocketCloseCode, String)
        /// The close handshake is complete (or failed): close TCP.
        case disconnect
    }

    /// What `close(at:)` decided.
    public enum CloseResult: Sendable, Equatable {
        /// Send the close frame; the peer has until `nextTimer` to answer.
        case sendClose
        /// A close handshake is already under way (or over): send nothing.
        case alreadyClosing
    }

    /// What `timerFired(at:)` decided.
    public enum TimerAction: Sendable, Equatable {
        case none
        case sendPing
        /// Nothing arrived for the idle timeout: send a close frame (1001) and
        /// wait for the answer as after `close(at:)`.
        case closeIdle
        /// The peer did not answer our close in time: close TCP.
        case disconnect
    }

    public private(set) var phase: Phase = .open
    public let maxMessageSize: Int
    let deflate: DeflateParameters?
    /// Whether the peer compresses with context carried across messages.
    let peerKeepsContext: Bool

    private struct Partial {
        var isText: Bool
        var compressed: Bool
        var payload: ByteBuffer
        var utf8 = UTF8Validator()
    }
    private var partial: Partial?
    /// Created on the first compressed message; dropped after each message
    /// when the peer does not keep context, so idle connections hold none.
    private var inflater: Inflater?

    /// How often an idle connection is pinged (nil: never), when a silent
    /// peer is given up, and how long our close waits for the peer's.
    let pingInterval: Duration?
    let idleTimeout: Duration
    let closeTimeout: Duration
    private var lastReceived: Instant
    private var nextPing: Instant?
    private var closeDeadline: Instant?

    public init(role: FrameParser.Role, maxMessageSize: Int, deflate: DeflateParameters?,
                pingInterval: Duration? = nil, idleTimeout: Duration = .seconds(75), closeTimeout: Duration = .seconds(5),
                now: Instant = .now) {
        self.maxMessageSize = maxMessageSize
        self.deflate = deflate
        self.pingInterval = pingInterval
        self.idleTimeout = idleTimeout
        self.closeTimeout = closeTimeout
        lastReceived = now
        nextPing = pingInterval.map { now + $0 }
        if let deflate {
            peerKeepsContext = role == .server ? !deflate.clientNoContextTakeover : !deflate.serverNoContextTakeover
        } else {
            peerKeepsContext = false
        }
    }

    /// Whether a decompressor is allocated now (for memory accounting).
    public var holdsInflater: Bool { inflater != nil }

    /// Something arrived from the peer: it is alive.
    public mutating func received(at now: Instant) {
        lastReceived = now
    }

    /// We start the close handshake (shutting down, slow consumer).
    public mutating func close(at now: Instant) -> CloseResult {
        guard phase == .open else { return .alreadyClosing }
        phase = .closeSent
        closeDeadline = now + closeTimeout
        return .sendClose
    }

    /// When `timerFired` next has something to decide; nil when nothing is
    /// scheduled (closed, or open without pings).
    public var nextTimer: Instant? {
        switch phase {
        case .open: nextPing
        case .closeSent: closeDeadline
        case .closed: nil
        }
    }

    public mutating func timerFired(at now: Instant) -> TimerAction {
        switch phase {
        case .closed:
            return .none
        case .closeSent:
            guard let closeDeadline, now >= closeDeadline else { return .none }
            phase = .closed
            partial = nil
            inflater = nil
            return .disconnect
        case .open:
            guard let pingInterval, let due = nextPing, now >= due else { return .none }
            if now - lastReceived >= idleTimeout {
                _ = close(at: now)
                return .closeIdle
            }
            nextPing = now + pingInterval
            return .sendPing
        }
    }

    public mutating func receive(_ frame: WebSocketFrame) -> Action {
        guard phase != .closed else { return .none }
        do throws(WebSocketProtocolError) {
            return try handle(frame)
        } catch {
            return fail(error.closeCode, error.reason)
        }
    }

    /// A violation detected outside `receive` (by the frame parser).
    public mutating func fail(_ code: WebSocketCloseCode, _ reason: String) -> Action {
        guard phase != .closed else { return .none }
        let wasOpen = phase == .open
        phase = .closed
        partial = nil
        inflater = nil
        return wasOpen ? .sendCloseAndDisconnect(code, reason) : .disconnect
    }

    private mutating func handle(_ frame: WebSocketFrame) throws(WebSocketProtocolError) -> Action {
        if frame.rsv2 || frame.rsv3 {
            throw WebSocketProtocolError(.protocolError, "reserved bits set")
        }
        if frame.rsv1 && (deflate == nil || frame.opcode.isControl || frame.opcode == .continuation) {
            throw WebSocketProtocolError(.protocolError, "RSV1 set where no compression applies")
        }
        switch frame.opcode {
        case .ping:
            return phase == .open ? .send(WebSocketFrame(opcode: .pong, payload: frame.payload)) : .none
        case .pong:
            return .none
        case .close:
            return try receiveClose(frame.payload)
        case .text, .binary:
            guard partial == nil else { throw WebSocketProtocolError(.protocolError, "new message before the last one finished") }
            partial = Partial(isText: frame.opcode == .text, compressed: frame.rsv1, payload: ByteBuffer())
            return try append(frame)
        case .continuation:
            guard partial != nil else { throw WebSocketProtocolError(.protocolError, "continuation without a message") }
            return try append(frame)
        }
    }

    private mutating func append(_ frame: WebSocketFrame) throws(WebSocketProtocolError) -> Action {
        guard var message = partial else { return .none }
        partial = nil  // keep the buffer uniquely referenced while appending
        let before = message.payload.writerIndex
        if message.compressed {
            let inflater = self.inflater ?? Inflater()
            self.inflater = inflater
            try inflater.inflate(frame.payload, into: &message.payload, limit: maxMessageSize)
            if frame.fin { try inflater.finishMessage(into: &message.payload, limit: maxMessageSize) }
        } else {
            guard message.payload.readableBytes + frame.payload.readableBytes <= maxMessageSize else {
                throw WebSocketProtocolError(.messageTooBig, "message exceeds \(maxMessageSize) bytes")
            }
            var payload = frame.payload
            message.payload.writeBuffer(&payload)
        }
        if message.isText {
            let valid = message.payload.withUnsafeReadableBytes { bytes in
                message.utf8.feed(UnsafeRawBufferPointer(rebasing: bytes[(before - message.payload.readerIndex)...]))
            }
            guard valid else { throw WebSocketProtocolError(.invalidPayload, "text message is not valid UTF-8") }
        }
        guard frame.fin else {
            partial = message
            return .none
        }
        if message.compressed && !peerKeepsContext { inflater = nil }
        if message.isText {
            guard message.utf8.isComplete else { throw WebSocketProtocolError(.invalidPayload, "text message ends inside a character") }
            return .deliver(.text(message.payload))
        }
        return .deliver(.binary(message.payload))
    }

    private mutating func receiveClose(_ payload: ByteBuffer) throws(WebSocketProtocolError) -> Action {
        var payload = payload
        var code = WebSocketCloseCode.normal
        var reply = WebSocketCloseCode.normal
        if payload.readableBytes == 1 {
            throw WebSocketProtocolError(.protocolError, "close frame with a one-byte payload")
        }
        if let raw = payload.readInteger(as: UInt16.self) {
            code = WebSocketCloseCode(rawValue: raw)
            guard code.isValidOnWire else { throw WebSocketProtocolError(.protocolError, "invalid close code \(raw)") }
            var validator = UTF8Validator()
            let valid = payload.withUnsafeReadableBytes { validator.feed($0) } && validator.isComplete
            guard valid else { throw WebSocketProtocolError(.invalidPayload, "close reason is not valid UTF-8") }
            reply = code
        }
        switch phase {
        case .open:
            phase = .closed
            partial = nil
            inflater = nil
            return .sendCloseAndDisconnect(reply, "")
        case .closeSent:
            phase = .closed
            return .disconnect
        case .closed:
            return .none
        }
    }
}
