import NIOCore

/// An incremental frame parser (RFC 6455 §5.2). Feed it bytes as they come;
/// it returns a frame when one is complete and nil when it needs more bytes.
/// Limits are checked from the header, before any payload is buffered.
public struct FrameParser: Sendable {
    public enum Role: Sendable {
        /// Parses frames a client sent: they must be masked.
        case server
        /// Parses frames a server sent: they must not be masked.
        case client
    }

    public let role: Role
    /// Largest payload of one frame. Larger → 1009 before reading it.
    public var maxFrameSize: Int

    public init(role: Role, maxFrameSize: Int) {
        self.role = role
        self.maxFrameSize = maxFrameSize
    }

    /// Parses one frame from the front of `buffer`, consuming it; leaves the
    /// buffer untouched and returns nil when the frame is not complete yet.
    public func parse(_ buffer: inout ByteBuffer) throws(WebSocketProtocolError) -> WebSocketFrame? {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self)
        else { return nil }
        guard let opcode = WebSocketFrame.Opcode(rawValue: first & 0x0F) else {
            throw WebSocketProtocolError(.protocolError, "reserved opcode \(first & 0x0F)")
        }
        let fin = first & 0x80 != 0
        let masked = second & 0x80 != 0
        switch (role, masked) {
        case (.server, false): throw WebSocketProtocolError(.protocolError, "client frames must be masked")
        case (.client, true): throw WebSocketProtocolError(.protocolError, "server frames must not be masked")
        default: break
        }
        var offset = 2
        var length = UInt64(second & 0x7F)
        if opcode.isControl {
            guard fin else { throw WebSocketProtocolError(.protocolError, "fragmented control frame") }
            guard length <= 125 else { throw WebSocketProtocolError(.protocolError, "control frame payload over 125 bytes") }
        }
        if length == 126 {
            guard let extended = buffer.getInteger(at: buffer.readerIndex + offset, as: UInt16.self) else { return nil }
            guard extended >= 126 else { throw WebSocketProtocolError(.protocolError, "non-minimal 16-bit length") }
            length = UInt64(extended)
            offset += 2
        } else if length == 127 {
            guard let extended = buffer.getInteger(at: buffer.readerIndex + offset, as: UInt64.self) else { return nil }
            guard extended & (1 << 63) == 0 else { throw WebSocketProtocolError(.protocolError, "64-bit length with the top bit set") }
            guard extended > 0xFFFF else { throw WebSocketProtocolError(.protocolError, "non-minimal 64-bit length") }
            length = extended
            offset += 8
        }
        guard length <= UInt64(maxFrameSize) else {
            throw WebSocketProtocolError(.messageTooBig, "frame of \(length) bytes exceeds \(maxFrameSize)")
        }
        var maskKey: UInt32 = 0
        if masked {
            guard let key = buffer.getInteger(at: buffer.readerIndex + offset, as: UInt32.self) else { return nil }
            maskKey = key
            offset += 4
        }
        let payloadLength = Int(length)
        guard buffer.readableBytes >= offset + payloadLength else { return nil }
        buffer.moveReaderIndex(forwardBy: offset)
        var payload = buffer.readSlice(length: payloadLength)!
        if masked { payload = unmask(payload, key: maskKey) }
        return WebSocketFrame(fin: fin, rsv1: first & 0x40 != 0, rsv2: first & 0x20 != 0, rsv3: first & 0x10 != 0,
                              opcode: opcode, payload: payload)
    }
}

/// XORs `payload` with the 4-byte masking key (big-endian `key`), eight bytes
/// at a time, into a fresh buffer. Masking and unmasking are the same operation.
public func unmask(_ payload: ByteBuffer, key: UInt32) -> ByteBuffer {
    let count = payload.readableBytes
    var output = ByteBuffer()
    output.reserveCapacity(count)
    let keyBytes: (UInt8, UInt8, UInt8, UInt8) = (UInt8(key >> 24), UInt8((key >> 16) & 0xFF), UInt8((key >> 8) & 0xFF), UInt8(key & 0xFF))
    payload.withUnsafeReadableBytes { source in
        output.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { target in
            // The key repeated over a machine word, in memory order.
            var word: UInt64 = 0
            withUnsafeMutableBytes(of: &word) { w in
                for i in 0..<8 { w[i] = [keyBytes.0, keyBytes.1, keyBytes.2, keyBytes.3][i % 4] }
            }
            let words = count / 8
            let src = source.baseAddress!
            let dst = target.baseAddress!
            for i in 0..<words {
                let value = src.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) ^ word
                dst.storeBytes(of: value, toByteOffset: i * 8, as: UInt64.self)
            }
            let keyArray = [keyBytes.0, keyBytes.1, keyBytes.2, keyBytes.3]
            for i in (words * 8)..<count {
                dst.storeBytes(of: source[i] ^ keyArray[i % 4], toByteOffset: i, as: UInt8.self)
            }
            return count
        }
    }
    return output
}
