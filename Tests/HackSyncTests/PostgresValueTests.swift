import Postgres
import Testing

@Suite struct PostgresValueTests {
    @Test func arraysAreQuotedSoNoElementCanBreakTheLiteral() {
        #expect([Int64(1), 2, 3].postgresText == #"{"1","2","3"}"#)
        #expect(["a b", #"c"d"#, #"e\f"#, "{,}"].postgresText == #"{"a b","c\"d","e\\f","{,}"}"#)
        #expect([String]().postgresText == "{}")
        #expect([PostgresArrayElement.value("a"), .null, .value("NULL")].postgresText == #"{"a",NULL,"NULL"}"#)
    }

    @Test func arrayTextRoundTrips() {
        let values = ["plain", "with space", #"quote""#, #"back\slash"#, "NULL", ""]
        #expect(parsePostgresArray(values.postgresText) == values)
        #expect(parsePostgresArray("{a,NULL,\"NULL\"}") == ["a", nil, "NULL"])
        #expect(parsePostgresArray("{}") == [])
    }
}
