import Model
import NIOCore
import Synchronization
import Sync
import WebSocket

/// An event encoded once and shared by every subscriber: the JSON text, the
/// WebSocket frame bytes (per privacy view, and per compression window when
/// permessage-deflate is on), and the parsed document for filters. Each is
/// built on first use and cached.
public final class EncodedEvent: Sendable {
    public let event: DocumentEvent
    let compressionThreshold: Int

    private struct Key: Hashable {
        var privateView: Bool
        var windowBits: Int?
    }
    private struct Cache {
        var frames: [Key: ByteBuffer] = [:]
        var document: JSONValue??
        var changedFields: Set<String>??
    }
    private let cache = Mutex(Cache())

    public init(_ event: DocumentEvent, compressionThreshold: Int = 128) {
        self.event = event
        self.compressionThreshold = compressionThreshold
    }

    /// The full document, parsed (filters run against it).
    public var document: JSONValue? {
        if let cached = cache.withLock({ $0.document }) { return cached }
        let parsed = try? JSONValue.parse(event.data)
        cache.withLock { $0.document = .some(parsed) }
        return parsed
    }

    /// The fields the event changed, parsed (`changed` subscriptions run
    /// against them); nil when the event does not say.
    public var changedFields: Set<String>? {
        if let cached = cache.withLock({ $0.changedFields }) { return cached }
        let parsed = event.changed.flatMap { try? JSONValue.parse($0) }?.array.map { Set($0.compactMap(\.string)) }
        cache.withLock { $0.changedFields = .some(parsed) }
        return parsed
    }

    /// The event as one server frame for a subscriber who may (or may not)
    /// see private fields, compressed with `windowBits` when given.
    public func frame(privateView: Bool, windowBits: Int?) -> ByteBuffer {
        let view = privateView || event.publicData == nil
        let key = Key(privateView: view, windowBits: windowBits)
        if let cached = cache.withLock({ $0.frames[key] }) { return cached }
        let text = view ? ServerMessage.event(event, data: event.data, changed: event.changed, previous: event.previous)
            : ServerMessage.event(event, data: event.publicData!, changed: event.publicChanged, previous: event.publicPrevious)
        let frame = Self.encodeText(text, windowBits: windowBits, threshold: compressionThreshold)
        cache.withLock { $0.frames[key] = frame }
        return frame
    }

    /// A complete unmasked text frame, deflated (no context takeover) when
    /// `windowBits` is set and the text is long enough to gain from it.
    public static func encodeText(_ text: String, windowBits: Int?, threshold: Int = 128) -> ByteBuffer {
        let payload = ByteBuffer(string: text)
        if let windowBits, payload.readableBytes >= threshold, Deflater.isSupported(windowBits: windowBits) {
            let compressed = Deflater(windowBits: windowBits).compress(payload, reset: true)
            return FrameEncoder.encode(WebSocketFrame(rsv1: true, opcode: .text, payload: compressed))
        }
        return FrameEncoder.encode(WebSocketFrame(opcode: .text, payload: payload))
    }
}
