import Logging
import Model
import NIOCore
import Synchronization
import Sync
import WebSocket

/// Fans document events out to WebSocket subscribers.
///
/// The sync engine and the event follower publish settled events (in seq order); every event
/// is encoded once (`EncodedEvent`) and its bytes offered to the connection of
/// each subscriber whose subscription matches, which queues them for its
/// event loop to write. Publishing never waits on a socket, and no task
/// runs per subscriber to carry a frame.
public final class RealtimeHub: EventSink {
    public struct Configuration: Sendable {
        /// Token that unlocks private fields (e-mail); nil: nobody sees them.
        public var privateToken: String?
        /// The connections' limits, among them the frames pending per
        /// subscriber before it is closed as a slow consumer (4008).
        public var webSocket = WebSocketConfiguration()

        public init() {}
    }

    public let configuration: Configuration
    let log: any EventLog
    /// Answers `{"type":"wait"}`; nil: the request gets an error.
    let writeWaits: (any WriteWaiting)?
    let logger: Logger
    private struct State {
        var sessions: [UInt64: SubscriberSession] = [:]
        var nextID: UInt64 = 1
        var latestSeq: Int64 = 0
    }
    private let state = Mutex(State())
    private let sent = Atomic<Int>(0)
    /// Held for a whole publish (encoding and offering; neither waits).
    private let publishing = Mutex(())

    public init(configuration: Configuration, log: any EventLog, writeWaits: (any WriteWaiting)? = nil, logger: Logger) {
        self.configuration = configuration
        self.log = log
        self.writeWaits = writeWaits
        self.logger = logger
    }

    public var connectionCount: Int { state.withLock { $0.sessions.count } }
    public var latestSeq: Int64 { state.withLock { $0.latestSeq } }

    /// Sets the newest seq at start, so new live subscriptions start after it.
    public func primeLatestSeq() async throws {
        let latest = try await log.latestSeq()
        state.withLock { $0.latestSeq = max($0.latestSeq, latest) }
    }

    /// Offers `events` (in seq order) to every subscriber. Events at or
    /// below the newest seq already published are dropped, and publishes
    /// run one at a time, so each seq goes out once, in order, whoever
    /// publishes (the service's event follower; tests).
    public func publish(_ events: [DocumentEvent]) {
        publishing.withLock { _ in
            let (fresh, sessions) = state.withLock { s -> ([DocumentEvent], [SubscriberSession]) in
                let fresh = events.drop(while: { $0.seq <= s.latestSeq })
                guard let last = fresh.last else { return ([], []) }
                s.latestSeq = last.seq
                return (Array(fresh), Array(s.sessions.values))
            }
            guard !fresh.isEmpty else { return }
            let started = ContinuousClock.now
            let encoded = fresh.map { EncodedEvent($0, compressionThreshold: configuration.webSocket.compressionThreshold) }
            let through = fresh.last!.seq
            var writers = FanOutTiming.Loops()
            for session in sessions {
                var queued = false
                for event in encoded where session.offer(event) { queued = true }
                session.published(through: through)
                if queued { writers.insert(session.outlet.eventLoop) }
            }
            FanOutTiming.record(since: started, whenPassesRanOn: writers)
        }
    }

    /// Creates the hub's series at zero, so that a scrape shows them before the first event.
    public static func registerMetrics() {
        _ = FanOutTiming.timer
    }

    /// Whether a presented token unlocks private fields (constant-time compare).
    public func isAuthorized(token: String?) -> Bool {
        guard let expected = configuration.privateToken, !expected.isEmpty, let token else { return false }
        return constantTimeEquals(expected, token)
    }

    /// Takes on one upgraded connection: registers its subscriber and
    /// returns what its event loop calls with each request and at its end.
    /// Nothing runs for the connection while it is idle; replays and waits
    /// run in tasks of their own while they last.
    public func attach(_ connection: WebSocketConnection, authorized: Bool) -> WebSocketChannelHandler.Delegate {
        let windowBits = connection.deflate.map(\.serverMaxWindowBits)
        let logger = self.logger
        // Created and registered under one lock with the newest published
        // seq: every later publish reaches it, every earlier one is counted.
        let session = state.withLock { s -> SubscriberSession in
            let id = s.nextID
            s.nextID += 1
            let session = SubscriberSession(id: id, authorized: authorized, windowBits: windowBits,
                                            outlet: Outlet(connection: connection, hub: self),
                                            bufferLimit: connection.configuration.maxPendingMessages,
                                            publishedThrough: s.latestSeq) {
                logger.warning("subscriber too slow; closing so it can resume with since", metadata: ["ws.session": "\(id)"])
                connection.startClose(.slowConsumer, reason: "slow consumer: reconnect with since=<last seq>")
            }
            s.sessions[id] = session
            return session
        }
        let id = session.id
        logger.debug("subscriber connected", metadata: ["ws.session": "\(id)", "ws.authorized": "\(authorized)"])
        let tasks = ConnectionTasks()
        let log = self.log
        return WebSocketChannelHandler.Delegate(
            onMessage: { message in
                guard case .text(let text) = message else {
                    return session.send(ServerMessage.error("requests are JSON text messages"))
                }
                let request: ClientRequest
                do throws(ClientRequest.Invalid) {
                    request = try ClientRequest.parse(text.readableBytesView, authorized: authorized)
                } catch {
                    return session.send(ServerMessage.error(error.message))
                }
                session.handle(request, log: log, latestSeq: { self.latestSeq },
                               spawn: { tasks.run($0) },
                               startWait: { xid, timeout in tasks.run { await self.wait(xid: xid, timeout: timeout, for: session) } },
                               logger: logger)
            },
            onClose: {
                self.state.withLock { _ = $0.sessions.removeValue(forKey: id) }
                session.disconnected()
                // Waits are forgotten by `writeWaits` as they are cancelled.
                tasks.cancelAll()
                logger.debug("subscriber disconnected", metadata: ["ws.session": "\(id)"])
            })
    }

    private func wait(xid: UInt64, timeout: Duration, for session: SubscriberSession) async {
        guard let writeWaits else {
            session.answer(xid: xid, .cancelled)
            return session.send(ServerMessage.error("read-your-writes is not available on this server"))
        }
        session.answer(xid: xid, await writeWaits.wait(xid: xid, timeout: timeout))
    }

    /// A subscriber's connection, counting what it accepts.
    private struct Outlet: FrameOutlet {
        let connection: WebSocketConnection
        let hub: RealtimeHub

        func offer(_ frame: ByteBuffer) -> Bool {
            guard connection.offerEncodedFrames(frame) else { return false }
            hub.sent.add(1, ordering: .relaxed)
            return true
        }

        var eventLoop: any EventLoop { connection.eventLoop }
    }

    /// Messages handed to subscribers' connections since start.
    public var messagesSent: Int { sent.load(ordering: .relaxed) }
}
