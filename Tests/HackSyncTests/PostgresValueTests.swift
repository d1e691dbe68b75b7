import Postgres
import Testing

@Suite struct PostgresValueTests {
    @Test func arraysAreQuotedSoNoElementCanBreakTheLiteral() {
        #expect([Int64(1), -2, 3].postgresText == "{1,-2,3}")
        #expect([Int(1), 2].postgresText == #"{"1","2"}"#)
        #expect([Int64]().postgresText == "{}")
        #expect(["a b", #"c"d"#, #"e\f"#, "{,}"].postgresText == #"{"a b","c\"d","e\\f","{,}"}"#)
        #expect([String]().postgresText == "{}")
        #expect([PostgresArrayElement.value("a"), .null, .value("NULL")].postgresText == #"{"a",NULL,"NULL"}"#)
    }

    @Test func arrayTextRoundTrips() {
        let values = ["plain", "with space", #"quote""#, #"back\slash"#, "NULL", ""]
        #expect(parsePostgresArray(values.postgresText) == values)
        #expect(parsePostgresArray("{a,NULL,\"NULL\"}") == ["a", nil, "NULL"])
        #expect(parsePostgresArray("{}") == [])
        #expect(["é", "日本", #"ü"x"#].postgresText == #"{"é","日本","ü\"x"}"#, "multi-byte characters pass through whole")
        #expect(parsePostgresArray(["é", "日本", #"ü"x"#].postgresText) == ["é", "日本", #"ü"x"#])
    }

    @Test func bigintArraysParseAsBytesAndAnythingElseIsRefused() {
        #expect(parsePostgresInt64Array("{1,-2,30}") == [1, -2, 30])
        #expect(parsePostgresInt64Array("{9223372036854775807,-9223372036854775807}") == [.max, -.max])
        #expect(parsePostgresInt64Array("{}") == [])
        let many = (1...100_000).map { Int64($0) * 7 }
        #expect(parsePostgresInt64Array(many.postgresText) == many)
        for bad in ["", "{", "1,2", "{1,,2}", "{1,NULL}", "{1-2}", "{-}", "{1}x", "{,}", "{99999999999999999999}", "{1,2"] {
            #expect(parsePostgresInt64Array(bad) == nil, "\(bad)")
        }
    }
}

/// Parses Postgres's text form of a one-dimensional array (`{a,"b c",NULL}`),
/// as Postgres reads what `postgresText` writes: the round trip checks the quoting.
func parsePostgresArray(_ text: String) -> [String?] {
    var result: [String?] = []
    var chars = Substring(text)
    guard chars.first == "{", chars.last == "}" else { return [text] }
    chars = chars.dropFirst().dropLast()
    if chars.isEmpty { return [] }
    var current = ""
    var quoted = false
    var wasQuoted = false
    var escape = false
    for ch in chars {
        if escape { current.append(ch); escape = false; continue }
        if quoted {
            if ch == "\\" { escape = true } else if ch == "\"" { quoted = false } else { current.append(ch) }
            continue
        }
        switch ch {
        case "\"": quoted = true; wasQuoted = true
        case ",":
            result.append(!wasQuoted && current == "NULL" ? nil : current)
            current = ""; wasQuoted = false
        default: current.append(ch)
        }
    }
    result.append(!wasQuoted && current == "NULL" ? nil : current)
    return result
}
