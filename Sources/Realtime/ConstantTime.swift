/// Compares two secrets in time that depends only on their lengths, so a
/// caller cannot learn a token byte by byte from response times.
public func constantTimeEquals(_ expected: String, _ presented: String) -> Bool {
    let a = Array(expected.utf8), b = Array(presented.utf8)
    guard a.count == b.count else { return false }
    return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
}
