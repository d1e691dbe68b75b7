/// Incremental UTF-8 validation (RFC 3629), so a text message split across
/// fragments is checked as it arrives and rejected at the first bad byte,
/// not after the whole message was buffered.
public struct UTF8Validator: Sendable {
    private var needed = 0
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    public init() {}

    /// True when no code point is left half-finished.
    public var isComplete: Bool { needed == 0 }

    /// Feeds bytes; returns false as soon as they cannot be valid UTF-8.
    public mutating func feed<Bytes: Collection>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        for byte in bytes where !feed(byte) { return false }
        return true
    }

    /// Feeds raw memory, skipping over ASCII eight bytes at a time.
    public mutating func feed(_ buffer: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let count = buffer.count
        while i < count {
            if needed == 0 {
                while i + 8 <= count, buffer.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    i += 8
                }
                if i >= count { break }
            }
            if !feed(buffer[i]) { return false }
            i += 1
        }
        return true
    }

    @inline(__always)
    public mutating func feed(_ byte: UInt8) -> Bool {
        if needed == 0 {
            switch byte {
            case 0x00...0x7F: return true
            case 0xC2...0xDF: needed = 1
            case 0xE0: needed = 2; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: needed = 2
            case 0xED: needed = 2; upper = 0x9F
            case 0xF0: needed = 3; lower = 0x90
            case 0xF1...0xF3: needed = 3
            case 0xF4: needed = 3; upper = 0x8F
            default: return false
            }
            return true
        }
        guard byte >= lower && byte <= upper else { return false }
        lower = 0x80
        upper = 0xBF
        needed -= 1
        return true
    }
}
