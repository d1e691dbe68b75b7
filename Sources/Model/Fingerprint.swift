/// 64-bit FNV-1a, as hex: a content fingerprint (a migration's checksum,
/// a declaration's hash), not a security measure.
public func fnv1a64(_ text: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01b3
    }
    return String(hash, radix: 16)
}
