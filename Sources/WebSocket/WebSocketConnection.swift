import Logging
import NIOCore
import Synchronization

/// One open WebSocket connection on a NIO channel: runs the frames read
/// and the clock through the state machine, performs what it decides
/// (pongs, pings, close frames, disconnects), and sends messages. A driver
/// feeds it the bytes read: `WebSocketChannelHandler` on the event loop (the
/// server), or `run(inbound:)` from a task (the client).
///
/// An idle connection costs no task: frames from any thread are queued in
/// order and written by the channel's event loop (`OutboundFrames`), and the
/// pings and timeouts are one scheduled task on that loop. Each frame is
/// written as one buffer, so frames never interleave.
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
    /// Bytes read but not parsed yet: the rest of a chunk whose messages
    /// are being delivered (`owned` false: still the channel's receive
    /// buffer), or the start of an incomplete frame (a copy of our own).
    private struct UnreadBytes {
        var bytes: ByteBuffer?
        var owned = false
    }
    private let unread = Mutex(UnreadBytes())
    private let parser: FrameParser
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
        parser = FrameParser(role: role, maxFrameSize: configuration.maxFrameSize)
    }

    /// The loop that writes the connection's frames.
    public var eventLoop: any EventLoop { outbound.channel.eventLoop }

    /// The close code the connection ended with, once it ended.
    public var closeCode: WebSocketCloseCode? { state.withLock { $0.closeCode } }

    /// What reading led to (`nextStep`).
    public enum ReadStep: Sendable, Equatable {
        /// A message is due; call `nextStep(reading: nil)` for the next.
        case message(WebSocketStateMachine.Message)
        /// Everything read so far is consumed: read more.
        case needMore
        /// The close handshake finished, or the peer broke the protocol (our
        /// close frame is queued): read no more, close once the frames queued
        /// reached the socket (`closeWhenDrained`).
        case ended
    }

    /// Takes bytes read from the socket (nil: go on with what is kept) and
    /// runs their frames through the state machine until a message is due,
    /// more bytes are needed, or the connection ended. Pongs and close
    /// frames are queued without waiting; a driver that reads stops reading
    /// while more than `sendHighWater` bytes are pending (`outboundBacklog`).
    /// Called by one reader at a time.
    public func nextStep(reading chunk: ByteBuffer?) -> ReadStep {
        // Moved out of the lock's storage, so `buffer` is the only reference
        // to the kept bytes and appending to them does not copy them.
        var buffer: ByteBuffer
        var owned = false
        var kept: ByteBuffer?
        unread.withLock { r in
            kept = r.bytes
            owned = r.owned
            r = UnreadBytes()
        }
        if var chunk {
            if var bytes = kept.take() {
                if !owned { bytes = copied(bytes) }
                bytes.writeBuffer(&chunk)
                buffer = bytes
                owned = true
            } else {
                buffer = chunk
                owned = false
            }
        } else if let bytes = kept.take() {
            buffer = bytes
        } else {
            return .needMore
        }
        if chunk != nil { state.withLock { $0.machine.received(at: .now) } }
        while true {
            let frame: WebSocketFrame?
            do throws(WebSocketProtocolError) {
                frame = try parser.parse(&buffer)
            } catch {
                perform(state.withLock { $0.machine.fail(error.closeCode, error.reason) })
                return .ended
            }
            guard let frame else { break }
            let action = state.withLock { $0.machine.receive(frame) }
            if case .deliver(let message) = action {
                keep(buffer, owned: owned)
                return .message(message)
            }
            perform(action)
            if isClosed { return .ended }
        }
        // Nothing is kept between whole frames, so an idle connection holds
        // no buffer and the channel's receive buffer is reused for the next
        // read; the tail of an incomplete frame is copied out of it once.
        if buffer.readableBytes > 0 {
            if owned {
                buffer.discardReadBytes()
            } else {
                buffer = copied(buffer)
            }
            keep(buffer, owned: true)
        }
        return .needMore
    }

    private func keep(_ buffer: ByteBuffer, owned: Bool) {
        guard buffer.readableBytes > 0 else { return }
        unread.withLock { $0 = UnreadBytes(bytes: buffer, owned: owned) }
    }

    private func copied(_ buffer: ByteBuffer) -> ByteBuffer {
        var buffer = buffer
        var copy = ByteBufferAllocator().buffer(capacity: buffer.readableBytes)
        copy.writeBuffer(&buffer)
        return copy
    }

    /// Bytes queued for the peer beyond `sendHighWater`: the future to wait
    /// on before reading on (so a peer that sends but does not read cannot
    /// pile up pongs and echoes); nil when below.
    public var outboundBacklog: EventLoopFuture<Void>? {
        outbound.pendingBytes > configuration.sendHighWater ? outbound.drained : nil
    }

    /// Reads until the connection closes, calling `onMessage` for each message
    /// in order (the client; the server reads in `WebSocketChannelHandler`).
    /// Returns when the close handshake finished, the peer vanished,
    /// or the peer left our close unanswered past `closeTimeout` (the
    /// channel is then closed), once the last frames written reached the
    /// socket (waiting at most `closeTimeout`).
    public func run<Inbound: AsyncSequence & Sendable>(
        inbound: Inbound,
        onMessage: @escaping @Sendable (WebSocketStateMachine.Message) async -> Void
    ) async where Inbound.Element == ByteBuffer {
        start()
        do {
            reading: for try await chunk in inbound {
                var step = nextStep(reading: chunk)
                while case .message(let message) = step {
                    await onMessage(message)
                    step = nextStep(reading: nil)
                }
                if step == .ended { break reading }
                if let backlog = outboundBacklog { try? await backlog.get() }
            }
        } catch {
            logger.debug("WebSocket read ended", metadata: ["error": "\(error)"])
        }
        ended()
        // A close frame queued last must reach the socket before the caller
        // closes the channel; a peer that reads nothing gets closeTimeout.
        if let drained = outbound.drained {
            let channel = outbound.channel
            let giveUp = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.closeTimeout)) { channel.close(promise: nil) }
            try? await drained.get()
            giveUp.cancel()
        }
    }

    /// Starts the timers (pings, the idle timeout).
    public func start() {
        armTimer()
    }

    /// The connection is over (the peer vanished, or reading ended): no
    /// more timers, and the close code is abnormal unless one was set.
    public func ended() {
        let timer = state.withLock { s -> Scheduled<Void>? in
            s.running = false
            if s.closeCode == nil { s.closeCode = .abnormal }
            _ = s.machine.fail(.abnormal, "")
            defer { s.timer = nil }
            return s.timer
        }
        timer?.cancel()
    }

    /// Closes the channel once the frames queued reached the socket, or
    /// after `closeTimeout` if the peer does not read them.
    public func closeWhenDrained() {
        let channel = outbound.channel
        guard let drained = outbound.drained else { return channel.close(promise: nil) }
        let giveUp = channel.eventLoop.scheduleTask(in: TimeAmount(configuration.closeTimeout)) { channel.close(promise: nil) }
        drained.whenComplete { _ in
            giveUp.cancel()
            channel.close(promise: nil)
        }
    }

    private var isClosed: Bool { state.withLock { $0.machine.phase == .closed } }

    private func perform(_ action: WebSocketStateMachine.Action) {
        switch action {
        case .none, .deliver, .disconnect:
            break  // reading ends; the driver closes the channel
        case .send(let frame):
            post(frame)
        case .sendCloseAndDisconnect(let code, let reason):
            state.withLock { if $0.closeCode == nil { $0.closeCode = code } }
            post(WebSocketFrame(opcode: .close, payload: FrameEncoder.closePayload(code, reason: reason)))
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

    /// Queues a message without waiting, compressed when negotiated and
    /// worth it (a server answering on the event loop; its reader stops
    /// reading while `outboundBacklog` is set). False after our close frame.
    @discardableResult
    public func enqueue(_ message: WebSocketStateMachine.Message) -> Bool {
        let (opcode, payload): (WebSocketFrame.Opcode, ByteBuffer) = switch message {
        case .text(let payload): (.text, payload)
        case .binary(let payload): (.binary, payload)
        }
        if let compressed = compressedPayload(payload) {
            return post(WebSocketFrame(rsv1: true, opcode: opcode, payload: compressed))
        }
        return post(WebSocketFrame(opcode: opcode, payload: payload))
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

    /// Starts the close handshake; the connection ends once the peer
    /// answers or `closeTimeout` passes.
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

    /// Queues a frame without waiting (the timers, `startClose`, the
    /// reader's pongs and close frames, on any thread); false after the close frame.
    @discardableResult
    private func post(_ frame: WebSocketFrame) -> Bool {
        outbound.post(encoded(frame), closes: frame.opcode == .close)
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
            outbound.channel.close(promise: nil)  // reading ends with the channel
            return
        }
        armTimer()
    }
}
