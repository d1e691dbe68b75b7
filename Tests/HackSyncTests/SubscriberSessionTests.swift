import Logging
import Model
import NIOCore
import NIOEmbedded
import Synchronization
import Testing
@testable import Realtime
import Sync

/// Requests run beside a replay: a replay that a later request superseded
/// sends nothing more, not even its `gap` notice.
@Suite struct SubscriberSessionTests {
    /// Captures what the session sends.
    final class Frames: FrameOutlet {
        let texts = Mutex<[String]>([])
        let eventLoop: any EventLoop = EmbeddedEventLoop()
        func offer(_ frame: ByteBuffer) -> Bool {
            var frame = frame
            // Unmasked server text frames with a short payload: skip the 2-byte header.
            frame.moveReaderIndex(forwardBy: frame.getInteger(at: frame.readerIndex + 1, as: UInt8.self)! == 126 ? 4 : 2)
            texts.withLock { $0.append(String(buffer: frame)) }
            return true
        }
    }

    /// A log whose oldest seq is 100 (so `since: 0` has a gap), answered only once `release` is called.
    final class HeldLog: EventLog {
        let asked = AsyncStream<Void>.makeStream()
        let gate = AsyncStream<Void>.makeStream()
        func events(channel: Entity, after: Int64, limit: Int) async throws -> [DocumentEvent] { [] }
        func oldestSeq() async throws -> Int64? {
            asked.continuation.yield()
            for await _ in gate.stream { break }
            return 100
        }
        func latestSeq() async throws -> Int64 { 120 }
        func release() { gate.continuation.yield() }
    }

    @Test func aSupersededReplaySendsNoGap() async throws {
        let frames = Frames()
        let log = HeldLog()
        let session = SubscriberSession(id: 1, authorized: false, windowBits: nil, outlet: frames, bufferLimit: 10) {}
        let replay = Mutex<Task<Void, Never>?>(nil)
        session.handle(.subscribe(Subscription(channel: .projects, since: 0)), log: log, latestSeq: { 120 },
                       spawn: { work in replay.withLock { $0 = Task { await work() } } },
                       startWait: { _, _ in }, logger: Logger(label: "test"))
        var asked = log.asked.stream.makeAsyncIterator()
        _ = await asked.next()  // the replay is reading the log
        session.handle(.unsubscribe(.projects), log: log, latestSeq: { 120 }, spawn: { _ in },
                       startWait: { _, _ in }, logger: Logger(label: "test"))
        log.release()
        await replay.withLock { $0 }!.value
        let types = frames.texts.withLock { $0 }.map { text in
            (try? JSONValue.parse(text))?["type"]?.string ?? text
        }
        #expect(types == ["subscribed", "unsubscribed"], "no gap after the unsubscribe: \(types)")
    }
}
