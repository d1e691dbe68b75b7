import Foundation
import Model
import Testing

/// The one-pass parser against Foundation's decoder (the parser it
/// replaced), on what they must agree about and what they must refuse.
@Suite struct JSONParserTests {
    static func foundation(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test(arguments: [
        #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#, "[]", "{}", " [ 1 , 2 ] ", "0", "-0", "1.5", "-12.25e3", "1E-2", "123456789012",
        #""plain""#, #""esc \" \\ \/ \b \f \n \r \t""#, #""\u00e9\u4e2d\ud83d\ude00""#, #""ünïcode 中文 😀""#, #"{"k":1,"k":2}"#,
        #"[[[[[[[[[[1]]]]]]]]]]"#, #"{"data":[{"id":"evt_1","timestamp":1709294400250,"details":{"note":"a\tb"}}]}"#,
    ])
    func agreesWithFoundation(_ text: String) throws {
        #expect(try JSONValue.parse(text) == Self.foundation(text))
        #expect(try JSONValue.parse(Array(text.utf8)) == Self.foundation(text))
    }

    @Test(arguments: [
        "", " ", "[", "]", "{", #"{"a"}"#, #"{"a":}"#, #"{"a":1,}"#, "[1,]", "[1 2]", "01", "1.", ".5", "-", "1e", "+1", "1e400",
        "tru", "nul", "NaN", "Infinity", #""unclosed"#, "\"tab\there\"", #""\x""#, #""\u12""#, #""\ud83d""#, #""\ude00""#,
        #""\ud83dx""#, "[1] 2", "{'a':1}", "[1]]",
    ])
    func refuses(_ text: String) {
        #expect(throws: (any Error).self) { try JSONValue.parse(text) }
    }

    @Test func refusesInvalidUTF8AndDeepNesting() {
        #expect(throws: (any Error).self) { try JSONValue.parse([0x22, 0xFF, 0x22]) }
        #expect(throws: (any Error).self) { try JSONValue.parse(String(repeating: "[", count: 600) + String(repeating: "]", count: 600)) }
        #expect((try? JSONValue.parse(String(repeating: "[", count: 500) + String(repeating: "]", count: 500))) != nil)
    }
}
