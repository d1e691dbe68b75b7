/// RFC 8259 JSON text to a `JSONValue`, in one pass over the bytes.
///
/// `JSONDecoder` through `Decodable` tried each type in turn per value and
/// took 63% of an import's CPU (a 1,000-record page); this reads each byte
/// once. Strict: no trailing text, no control characters or invalid
/// UTF-8 in strings, no lone surrogates, no non-finite numbers, nesting at
/// most `maximumDepth`. A key given twice keeps its first value, as
/// `JSONDecoder` did.
struct JSONParser {
    struct Invalid: Error, CustomStringConvertible {
        var offset: Int
        var reason: String
        var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    static let maximumDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var at = 0
    private var depth = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
        var parser = JSONParser(bytes)
        parser.whitespace()
        let value = try parser.value()
        parser.whitespace()
        guard parser.at == bytes.count else { throw parser.invalid("text after the value") }
        return value
    }

    private func invalid(_ reason: String) -> Invalid {
        Invalid(offset: at, reason: reason)
    }

    private mutating func whitespace() {
        while at < bytes.count {
            switch bytes[at] {
            case 0x20, 0x0A, 0x0D, 0x09: at += 1
            default: return
            }
        }
    }

    private mutating func value() throws -> JSONValue {
        guard at < bytes.count else { throw invalid("the text ends where a value should be") }
        switch bytes[at] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw invalid("no value starts with \(Self.show(bytes[at]))")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard at + count <= bytes.count,
              word.withUTF8Buffer({ expected in (0..<count).allSatisfy { bytes[at + $0] == expected[$0] } }) else {
            throw invalid("expected \(word)")
        }
        at += count
    }

    private mutating func nest() throws {
        depth += 1
        guard depth <= Self.maximumDepth else { throw invalid("nested deeper than \(Self.maximumDepth)") }
        at += 1
    }

    private mutating func object() throws -> JSONValue {
        try nest()
        var members: [String: JSONValue] = [:]
        whitespace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "}") {
            at += 1
            depth -= 1
            return .object(members)
        }
        while true {
            whitespace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw invalid("expected a key") }
            let key = try string()
            whitespace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw invalid("expected ':'") }
            at += 1
            whitespace()
            let member = try value()
            if members[key] == nil { members[key] = member }
            whitespace()
            guard at < bytes.count else { throw invalid("the object is not closed") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            guard bytes[at] == UInt8(ascii: "}") else { throw invalid("expected ',' or '}'") }
            at += 1
            depth -= 1
            return .object(members)
        }
    }

    private mutating func array() throws -> JSONValue {
        try nest()
        var elements: [JSONValue] = []
        whitespace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "]") {
            at += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            whitespace()
            elements.append(try value())
            whitespace()
            guard at < bytes.count else { throw invalid("the array is not closed") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            guard bytes[at] == UInt8(ascii: "]") else { throw invalid("expected ',' or ']'") }
            at += 1
            depth -= 1
            return .array(elements)
        }
    }

    private mutating func number() throws -> Double {
        let start = at
        func digits() -> Int {
            let first = at
            while at < bytes.count, bytes[at] >= UInt8(ascii: "0"), bytes[at] <= UInt8(ascii: "9") { at += 1 }
            return at - first
        }
        if bytes[at] == UInt8(ascii: "-") { at += 1 }
        guard at < bytes.count else { throw invalid("a number without digits") }
        if bytes[at] == UInt8(ascii: "0") {
            at += 1
        } else if digits() == 0 {
            throw invalid("a number without digits")
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            at += 1
            guard digits() > 0 else { throw invalid("no digits after the decimal point") }
        }
        if at < bytes.count, bytes[at] | 0x20 == UInt8(ascii: "e") {
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard digits() > 0 else { throw invalid("no digits in the exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
        guard let number = Double(text), number.isFinite else { throw invalid("\(text) is out of range") }
        return number
    }

    private mutating func string() throws -> String {
        at += 1  // the opening quote
        let start = at
        // Fast path: no escapes.
        while at < bytes.count {
            let byte = bytes[at]
            if byte == UInt8(ascii: "\"") {
                defer { at += 1 }
                return try text(bytes[start..<at])
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw invalid("a control character in a string") }
            at += 1
        }
        var buffer = Array(bytes[start..<at])
        while at < bytes.count {
            let byte = bytes[at]
            switch byte {
            case UInt8(ascii: "\""):
                at += 1
                return try text(buffer[...])
            case UInt8(ascii: "\\"):
                at += 1
                guard at < bytes.count else { break }
                let escaped = bytes[at]
                at += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(escaped)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else {
                            throw invalid("a lone high surrogate")
                        }
                        at += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw invalid("a high surrogate without its low one") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw invalid("a lone low surrogate")
                    }
                    buffer.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default:
                    throw invalid("the escape \\\(Self.show(escaped))")
                }
            default:
                guard byte >= 0x20 else { throw invalid("a control character in a string") }
                buffer.append(byte)
                at += 1
            }
        }
        throw invalid("the string is not closed")
    }

    private mutating func hex4() throws -> UInt32 {
        guard at + 4 <= bytes.count else { throw invalid("\\u needs four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[at]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw invalid("\\u needs four hex digits")
            }
            value = value << 4 | UInt32(digit)
            at += 1
        }
        return value
    }

    private func text<C: Collection<UInt8>>(_ utf8: C) throws -> String {
        guard let text = String(validating: utf8, as: UTF8.self) else { throw invalid("a string that is not UTF-8") }
        return text
    }

    private static func show(_ byte: UInt8) -> String {
        byte >= 0x21 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte \(byte)"
    }
}
