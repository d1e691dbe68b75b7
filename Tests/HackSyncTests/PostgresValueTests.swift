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
