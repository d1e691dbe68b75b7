import NIOCore

/// One WebSocket frame (RFC 6455 §5.2), payload already unmasked.
public struct WebSocketFrame: Sendable, Equatable {
    public enum Opcode: UInt8, Sendable {
        case continuation = 0x0
        case text = 0x1
        case binary = 0x2
        case close = 0x8
        case ping = 0x9
        case pong = 0xA

        /// Control frames (close, ping, pong) may interleave with fragments.
        public var isControl: Bool { rawValue & 0x8 != 0 }
    }

    public var fin: Bool
    /// RSV1: set on the first frame of a permessage-deflate compressed message.
    public var rsv1: Bool
    public var rsv2: Bool
    public var rsv3: Bool
    public var opcode: Opcode
    public var payload: ByteBuffer

    public init(fin: Bool = true, rsv1: Bool = false, rsv2: Bool = false, rsv3: Bool = false, opcode: Opcode, payload: ByteBuffer = ByteBuffer()) {
        self.fin = fin
        self.rsv1 = rsv1
        self.rsv2 = rsv2
        self.rsv3 = rsv3
        self.opcode = opcode
        self.payload = payload
    }
}

/// Close status codes (RFC 6455 §7.4.1) plus HackSync's own.
public struct WebSocketCloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let normal = Self(rawValue: 1000)
    public static let goingAway = Self(rawValue: 1001)
    public static let protocolError = Self(rawValue: 1002)
    public static let unsupportedData = Self(rawValue: 1003)
    public static let noStatus = Self(rawValue: 1005)
    public static let abnormal = Self(rawValue: 1006)
    public static let invalidPayload = Self(rawValue: 1007)
    public static let policyViolation = Self(rawValue: 1008)
    public static let messageTooBig = Self(rawValue: 1009)
    public static let internalError = Self(rawValue: 1011)
    /// The server is at a limit (its connection count): reconnect later.
    /// Registered by IANA after RFC 6455; sent, but (like Autobahn's cases)
    /// not accepted from a peer.
    public static let tryAgainLater = Self(rawValue: 1013)
    /// HackSync: the subscriber read too slowly and its queue overflowed.
    /// Reconnect and resume with `since` set to the last seq received.
    public static let slowConsumer = Self(rawValue: 4008)

    /// Whether a peer may send this code in a close frame (§7.4).
    public var isValidOnWire: Bool {
        switch rawValue {
        case 1000...1003, 1007...1011: return true
        case 3000...4999: return true
        default: return false
        }
    }

    public var description: String { String(rawValue) }
}
