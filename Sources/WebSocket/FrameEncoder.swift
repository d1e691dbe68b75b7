import NIOCore

/// Writes frames (RFC 6455 §5.2). Servers send unmasked frames; clients mask
/// every frame with a fresh random key.
public enum FrameEncoder {
    /// The header bytes for a frame of `length` payload bytes.
    public static func writeHeader(_ frame: WebSocketFrame, length: Int, maskKey: UInt32?, into buffer: inout ByteBuffer) {
        var first = frame.opcode.rawValue
        if frame.fin { first |= 0x80 }
        if frame.rsv1 { first |= 0x40 }
        if frame.rsv2 { first |= 0x20 }
        if frame.rsv3 { first |= 0x10 }
        buffer.writeInteger(first)
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        if length < 126 {
            buffer.writeInteger(maskBit | UInt8(length))
        } else if length <= 0xFFFF {
            buffer.writeInteger(maskBit | 126)
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(maskBit | 127)
            buffer.writeInteger(UInt64(length))
        }
        if let maskKey { buffer.writeInteger(maskKey) }
    }

    /// Header and payload in one buffer.
    public static func encode(_ frame: WebSocketFrame, maskKey: UInt32? = nil) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(frame.payload.readableBytes + 14)
        writeHeader(frame, length: frame.payload.readableBytes, maskKey: maskKey, into: &buffer)
        if let maskKey {
            var masked = unmask(frame.payload, key: maskKey)
            buffer.writeBuffer(&masked)
        } else {
            var payload = frame.payload
            buffer.writeBuffer(&payload)
        }
        return buffer
    }

    /// A close frame's payload: the code, then the UTF-8 reason (cut to fit 125 bytes).
    public static func closePayload(_ code: WebSocketCloseCode, reason: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(code.rawValue)
        var utf8 = Array(reason.utf8.prefix(123))
        while !utf8.isEmpty && String(validating: utf8, as: UTF8.self) == nil { utf8.removeLast() }
        buffer.writeBytes(utf8)
        return buffer
    }
}
