import AsyncWakeup
import Logging
import NIOCore
import Synchronization

/// One open WebSocket connection over an async NIO channel: reads and parses
/// frames, runs them and the clock through the state machine, and performs
/// what it decides (pongs, pings, close frames, disconnects); sends messages.
/// Writes may come from any task; each frame is written as one buffer, so
/// frames never interleave.
public final class WebSocketConnection: Sendable {
    public let role: FrameParser.Role
    public let deflate: DeflateParameters?
    public let configuration: WebSocketConfiguration
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let logger: Logger

    private struct State {
        var machine: WebSocketStateMachine
        var closeCode: WebSocketCloseCode?
    }
    private let state: Mutex<State>
    /// The timer task sleeps on it until the machine's next deadline; `close`
    /// moves the deadline and signals it.
    private let timerWake = Wakeup()
    /// Our own compressor (client role keeps context unless told otherwise).
    /// The server role compresses statelessly: see `compressedPayload`.
    private let compressor: Mutex<Deflater?>

    public init(outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, role: FrameParser.Role,
                deflate: DeflateParameters?, configuration: WebSocketConfiguration, logger: Logger) {
        self.outbound = outbound
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
    /// or the peer left our close unanswered past `closeTimeout` (the caller
    /// then closes the channel).
    public func run<Inbound: AsyncSequence & Sendable>(
        inbound: Inbound,
        onMessage: @escaping @Sendable (WebSocketStateMachine.Message) async -> Void
    ) async where Inbound.Element == ByteBuffer {
        await withTaskGroup(of: Void.self) { group in
            // Whichever ends first ends the other: the timers end only on an unanswered close.
            group.addTask { await self.runTimers() }
            group.addTask { await self.read(inbound, onMessage: onMessage) }
            await group.next()
            group.cancelAll()
        }
        state.withLock {
            if $0.closeCode == nil { $0.closeCode = .abnormal }
            _ = $0.machine.fail(.abnormal, "")
        }
        outbound.finish()
    }

    private func read<Inbound: AsyncSequence & Sendable>(
        _ inbound: Inbound,
        onMessage: @escaping @Sendable (WebSocketStateMachine.Message) async -> Void
    ) async where Inbound.Element == ByteBuffer {
        let parser = FrameParser(role: role, maxFrameSize: configuration.maxFrameSize)
        var buffer = ByteBuffer()
        do {
            reading: for try await chunk in inbound {
                var chunk = chunk
                buffer.writeBuffer(&chunk)
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
                buffer.discardReadBytes()
            }
        } catch {
            logger.debug("WebSocket read ended", metadata: ["error": "\(error)"])
        }
    }

    private var isClosed: Bool { state.withLock { $0.machine.phase == .closed } }

    private func perform(_ action: WebSocketStateMachine.Action) async {
        switch action {
        case .none, .deliver:
            break
        case .send(let frame):
            try? await write(frame)
        case .sendCloseAndDisconnect(let code, let reason):
            state.withLock { if $0.closeCode == nil { $0.closeCode = code } }
            try? await write(WebSocketFrame(opcode: .close, payload: FrameEncoder.closePayload(code, reason: reason)))
            outbound.finish()
        case .disconnect:
            outbound.finish()
        }
    }

    /// Sends a text message, compressed when negotiated and worth it.
    public func send(text: ByteBuffer) async throws {
        try await send(opcode: .text, payload: text)
    }

    public func send(binary: ByteBuffer) async throws {
        try await send(opcode: .binary, payload: binary)
    }

    public func send(opcode: WebSocketFrame.Opcode, payload: ByteBuffer) async throws {
        if let compressed = compressedPayload(payload) {
            try await write(WebSocketFrame(rsv1: true, opcode: opcode, payload: compressed))
        } else {
            try await write(WebSocketFrame(opcode: opcode, payload: payload))
        }
    }

    /// Sends bytes that already form one or more complete server frames
    /// (an event encoded once for every subscriber). Server role only.
    public func sendEncodedFrames(_ bytes: ByteBuffer) async throws {
        precondition(role == .server, "clients must mask every frame")
        guard !isClosing else { return }
        try await outbound.write(bytes)
    }

    /// Starts the close handshake; `run` returns once the peer answers or
    /// `closeTimeout` passes.
    public func close(_ code: WebSocketCloseCode = .normal, reason: String = "") async {
        let result = state.withLock { s -> WebSocketStateMachine.CloseResult in
            let result = s.machine.close(at: .now)
            if result == .sendClose { s.closeCode = code }
            return result
        }
        guard result == .sendClose else { return }
        wakeTimer()
        try? await write(WebSocketFrame(opcode: .close, payload: FrameEncoder.closePayload(code, reason: reason)))
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

    private func write(_ frame: WebSocketFrame) async throws {
        let maskKey: UInt32? = role == .client ? UInt32.random(in: 0...UInt32.max) : nil
        try await outbound.write(FrameEncoder.encode(frame, maskKey: maskKey))
    }

    /// Performs the state machine's timing: pings, the idle close, the
    /// close handshake's timeout. Ends with the connection.
    private func runTimers() async {
        while !Task.isCancelled {
            await timerWake.wait(until: state.withLock { $0.machine.nextTimer })
            if Task.isCancelled { return }
            switch state.withLock({ $0.machine.timerFired(at: .now) }) {
            case .none:
                continue
            case .sendPing:
                try? await write(WebSocketFrame(opcode: .ping))
            case .closeIdle:
                state.withLock { if $0.closeCode == nil { $0.closeCode = .goingAway } }
                try? await write(WebSocketFrame(opcode: .close, payload: FrameEncoder.closePayload(.goingAway, reason: "idle timeout")))
            case .disconnect:
                return  // `run` stops reading and returns; the channel closes
            }
        }
    }

    /// Wakes the timer task to look at the (new) deadline.
    private func wakeTimer() {
        timerWake.signal()
    }
}
