import Logging
import NIOCore
import Synchronization

/// One open WebSocket connection on a NIO channel: reads and parses frames
/// from the channel's async inbound stream, runs them and the clock through
/// the state machine, and performs what it decides (pongs, pings, close
/// frames, disconnects); sends messages.
///
/// An idle connection costs no task of its own beyond the one reading it:
/// frames from any thread are queued in order and written by the channel's
/// event loop (`OutboundFrames`), and the pings and timeouts are one
/// scheduled task on that loop. Each frame is written as one buffer, so
/// frames never interleave.
public final class WebSocketConnection: Sendable {
    public let role: FrameParser.Role
    public let deflate: DeflateParameters?
    public let configuration: WebSocketConfiguration
    let outbound: OutboundFrames
    let logger: Logger

    private struct State {
        var machine: WebSocketStateMachine
        var closeCode: WebSocketCloseCode?
        /// The machine's next deadline as scheduled on the event loop.
        var timer: Scheduled<Void>?
        var timerDeadline: WebSocketStateMachine.Instant?
        var running = true
    }
    private let state: Mutex<State>
    /// Our own compressor (client role keeps context unless told otherwise).
    /// The server role compresses statelessly: see `compressedPayload`.
    private let compressor: Mutex<Deflater?>

    public init(channel: any Channel, role: FrameParser.Role,
                deflate: DeflateParameters?, configuration: WebSocketConfiguration, logger: Logger) {
        self.outbound = OutboundFrames(channel: channel, maxMessages: configuration.maxPendingMessages,
                                       maxBytes: configuration.maxPendingBytes, highWater: configuration.sendHighWater)
        self.role = role
        self.deflate = deflate
        self.configuration = configuration
        self.logger = logger
        state = Mutex(State(machine: WebSocketStateMachine(
            role: role, maxMessageSize: configuration.maxMessageSize, deflate: deflate,
            pingInterval: configuration.pingInterval, idleTimeout: configuration.idleTimeout,
            closeTimeout: configuration.closeTimeout)))
        compressor = Mutex(nil)
    }

    /// The close code the connection ended with, once it ended.
    public var closeCode: WebSocketCloseCode? { state.withLock { $0.closeCode } }

    /// Reads until the connection closes, calling `onMessage` for each message
    /// in order. Returns when the close handshake finished, the peer vanished,
    /// or the peer left our close unanswered past `closeTimeout` (the
    /// channel is then closed), once the last frames written reached the
    /// socket (waiting at most `closeTimeout`).
    public func run<Inbound: AsyncSequence & Sendable>(
        inbound: Inbound,
        onMessage: @escaping @Sendable (WebSocketStateMachine.Message) async -> Void
    ) async where Inbound.Element == ByteBuffer {
        armTimer()
        await read(inbound, onMessage: onMessage)
        let timer = state.withLock { s -> Scheduled<Void>? in
            s.running = false
            if s.closeCode == nil { s.closeCode = .abnormal }
            _ = s.machine.fail(.abnormal, "")
            defer { s.timer = nil }
            return s.timer
        }
        timer?.cancel()
        // A close frame queued last must reach the socket before the caller
        // closes the channel; a peer that reads nothing gets closeTimeout.
        if let drained = outbound.drained {
            let channel = outbound.channel
            let giveUp = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.closeTimeout)) { channel.close(promise: nil) }
            try? await drained.get()
            giveUp.cancel()
        }
    }

    private func read<Inbound: AsyncSequence & Sendable>(
        _ inbound: Inbound,
        onMessage: @escaping @Sendable (WebSocketStateMachine.Message) async -> Void
    ) async where Inbound.Element == ByteBuffer {
        let parser = FrameParser(role: role, maxFrameSize: configuration.maxFrameSize)
        // Bytes of an incomplete frame, in a buffer of our own: nil (nothing
        // kept) between whole frames, so an idle connection holds no buffer
        // and the channel's receive buffer can be reused for the next read.
        var pending: ByteBuffer?
        do {
            reading: for try await chunk in inbound {
                var buffer: ByteBuffer
                let owned = pending != nil
                if var kept = pending {
                    pending = nil  // `kept` is the only reference: appending does not copy
                    var chunk = chunk
                    kept.writeBuffer(&chunk)
                    buffer = kept
                } else {
                    buffer = chunk
                }
                state.withLock { $0.machine.received(at: .now) }
                while true {
                    let frame: WebSocketFrame?
                    do throws(WebSocketProtocolError) {
                        frame = try parser.parse(&buffer)
                    } catch {
                        let action = state.withLock { $0.machine.fail(error.closeCode, error.reason) }
                        await perform(action)
                        break reading
                    }
                    guard let frame else { break }
                    let action = state.withLock { $0.machine.receive(frame) }
                    if case .deliver(let message) = action {
                        await onMessage(message)
                    } else {
                        await perform(action)
                    }
                    if isClosed { break reading }
                }
                if buffer.readableBytes > 0 {
                    if owned {
                        buffer.discardReadBytes()
                        pending = buffer
                    } else {
                        // Still the channel's receive buffer: copy the tail out of it.
                        var kept = ByteBufferAllocator().buffer(capacity: buffer.readableBytes)
                        kept.writeBuffer(&buffer)
                        pending = kept
                    }
                }
            }
        } catch {
            logger.debug("WebSocket read ended", metadata: ["error": "\(error)"])
        }
    }

    private var isClosed: Bool { state.withLock { $0.machine.phase == .closed } }

    private func perform(_ action: WebSocketStateMachine.Action) async {
        switch action {
        case .none, .deliver, .disconnect:
            break  // `read` stops; `run` returns and the caller closes the channel
        case .send(let frame):
            try? await write(frame)
        case .sendCloseAndDisconnect(let code, let reason):
            state.withLock { if $0.closeCode == nil { $0.closeCode = code } }
            try? await write(WebSocketFrame(opcode: .close, payload: FrameEncoder.closePayload(code, reason: reason)))
        }
    }

    /// Sends a text message, compressed when negotiated and worth it.
    public func send(text: ByteBuffer) async throws {
        try await send(opcode: .text, payload: text)
    }

    public func send(binary: ByteBuffer) async throws {
        try await send(opcode: .binary, payload: binary)
    }

    /// Queues the message; waits only while more than
    /// `configuration.sendHighWater` bytes are on their way to the peer.
    public func send(opcode: WebSocketFrame.Opcode, payload: ByteBuffer) async throws {
        if let compressed = compressedPayload(payload) {
            try await write(WebSocketFrame(rsv1: true, opcode: opcode, payload: compressed))
        } else {
            try await write(WebSocketFrame(opcode: opcode, payload: payload))
        }
    }

    /// Offers bytes that already form one or more complete server frames
    /// (an event encoded once for every subscriber), without waiting.
    /// False when more than `maxPendingMessages` or `maxPendingBytes` would
    /// be pending: the peer is not reading. After our close frame the bytes
    /// are dropped (true). Server role only.
    public func offerEncodedFrames(_ bytes: ByteBuffer) -> Bool {
        precondition(role == .server, "clients must mask every frame")
        guard !isClosing else { return true }
        return outbound.offer(bytes) != .overBudget
    }

    /// Starts the close handshake; `run` returns once the peer answers or
    /// `closeTimeout` passes.
    public func close(_ code: WebSocketCloseCode = .normal, reason: String = "") async {
        startClose(code, reason: reason)
    }

    /// `close` for callers that cannot wait (the hub closing a slow subscriber).
    public func startClose(_ code: WebSocketCloseCode = .normal, reason: String = "") {
        let result = state.withLock { s -> WebSocketStateMachine.CloseResult in
            let result = s.machine.close(at: .now)
            if result == .sendClose { s.closeCode = code }
            return result
        }
        guard result == .sendClose else { return }
        post(WebSocketFrame(opcode: .close, payload: FrameEncoder.closePayload(code, reason: reason)))
        armTimer()
    }

    private var isClosing: Bool { state.withLock { $0.machine.phase != .open } }

    /// Whether negotiated deflate applies to messages we send, and the
    /// compressed payload if so.
    func compressedPayload(_ payload: ByteBuffer) -> ByteBuffer? {
        guard let deflate, payload.readableBytes >= configuration.compressionThreshold else { return nil }
        let bits = role == .server ? deflate.serverMaxWindowBits : deflate.clientMaxWindowBits
        guard Deflater.isSupported(windowBits: bits) else { return nil }
        let reset = role == .server ? deflate.serverNoContextTakeover : deflate.clientNoContextTakeover
        return compressor.withLock { existing in
            let deflater = existing ?? Deflater(windowBits: bits)
            let compressed = deflater.compress(payload, reset: reset)
            // Without context takeover nothing needs to survive the message.
            existing = reset ? nil : deflater
            return compressed
        }
    }

    private func encoded(_ frame: WebSocketFrame) -> ByteBuffer {
        let maskKey: UInt32? = role == .client ? UInt32.random(in: 0...UInt32.max) : nil
        return FrameEncoder.encode(frame, maskKey: maskKey)
    }

    /// Queues a frame, waiting while too much is pending.
    private func write(_ frame: WebSocketFrame) async throws {
        try await outbound.write(encoded(frame), closes: frame.opcode == .close)
    }

    /// Queues a frame without waiting (the timers and `startClose`, on any thread).
    private func post(_ frame: WebSocketFrame) {
        _ = outbound.post(encoded(frame), closes: frame.opcode == .close)
    }

    /// Schedules the timer at the machine's next deadline, unless one is
    /// scheduled already at or before it: a timer that fires early (the
    /// idle deadline moved on as frames arrived) finds nothing due and
    /// schedules the next.
    private func armTimer() {
        let eventLoop = outbound.channel.eventLoop
        state.withLock { s in
            guard s.running, let deadline = s.machine.nextTimer else { return }
            if let scheduled = s.timerDeadline, scheduled <= deadline { return }
            s.timer?.cancel()
            s.timerDeadline = deadline
            s.timer = eventLoop.scheduleTask(in: TimeAmount(deadline - .now)) { self.timerFired() }
        }
    }

    /// On the event loop: performs the state machine's timing (pings, the
    /// idle close, the close handshake's timeout) and schedules the next.
    private func timerFired() {
        let action = state.withLock { s -> WebSocketStateMachine.TimerAction? in
            s.timer = nil
            s.timerDeadline = nil
            return s.running ? s.machine.timerFired(at: .now) : nil
        }
        switch action {
        case nil, .none?:
            break
        case .sendPing?:
            post(WebSocketFrame(opcode: .ping))
        case .closeIdle?:
            state.withLock { if $0.closeCode == nil { $0.closeCode = .goingAway } }
            post(WebSocketFrame(opcode: .close, payload: FrameEncoder.closePayload(.goingAway, reason: "idle timeout")))
        case .disconnect?:
            outbound.channel.close(promise: nil)  // `read` ends; `run` returns
            return
        }
        armTimer()
    }
}
