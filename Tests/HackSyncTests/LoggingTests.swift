import Foundation
import Logging
import Server
import Synchronization
import Testing

@Suite struct LoggingTests {
    let redaction = LogRedaction(secrets: ["adm1n-t0ken", nil, "ab"])

    @Test(arguments: [
        ("connect postgresql://app:s3cret@db:5432/x failed", "connect postgresql://app:***@db:5432/x failed"),
        ("host=db password=s3cret dbname=x", "host=db password=*** dbname=x"),
        (#"host=db password='it\'s secret' dbname=x"#, "host=db password=*** dbname=x"),
        ("GET /api/search?q=a&token=s3cret&size=2", "GET /api/search?q=a&token=***&size=2"),
        ("Authorization: Bearer abc.DEF-123", "Authorization: Bearer ***"),
        ("es http://elastic:pw@es:9200 down", "es http://elastic:***@es:9200 down"),
        ("the token adm1n-t0ken leaked", "the token *** leaked"),
        ("synced 12 documents in 3 ms (about 4 ab)", "synced 12 documents in 3 ms (about 4 ab)"),
    ])
    func credentialsAreBlankedAndOrdinaryTextIsNot(input: String, expected: String) {
        #expect(redaction.scrub(input) == expected)
    }

    @Test func theDatabasePasswordIsFoundInURLsAndConninfo() {
        #expect(databasePassword("postgresql://app:s%40cret@db/x") == "s@cret")
        #expect(databasePassword("host=db password=s3cret dbname=x") == "s3cret")
        #expect(databasePassword(#"host=db password='it\'s' dbname=x"#) == "it's")
        #expect(databasePassword("postgresql://db/x") == nil)
        #expect(databasePassword(nil) == nil)
    }

    @Test func jsonLinesCarryMetadataAsKeysAndNoSecrets() throws {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "hacksync") { label in
            RedactingLogHandler(wrapping: JSONLogHandler(label: label) { line in lines.withLock { $0.append(line) } },
                                redaction: LogRedaction(secrets: ["adm1n-t0ken"]))
        }
        logger.logLevel = .debug
        logger[metadataKey: "request_id"] = "r-42"
        logger.info("reconnecting to postgresql://app:s3cret@db/x", metadata: [
            "seq": "17-42", "index": "projects", "level": "shadowed", "header": "Bearer adm1n-t0ken",
            "nested": ["a": ["1", "2"]],
        ])
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.hasSuffix("}\n") && !line.dropLast().contains("\n"))
        #expect(!line.contains("s3cret") && !line.contains("adm1n-t0ken"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "info")
        #expect(object["logger"] as? String == "hacksync")
        #expect(object["message"] as? String == "reconnecting to postgresql://app:***@db/x")
        #expect(object["seq"] as? String == "17-42")
        #expect(object["index"] as? String == "projects")
        #expect(object["request_id"] as? String == "r-42")
        #expect(object["meta.level"] as? String == "shadowed")
        #expect(object["header"] as? String == "Bearer ***")
        #expect((object["nested"] as? [String: [String]])?["a"] == ["1", "2"])
        let stamp = try #require(object["ts"] as? String)
        #expect(stamp.count == 24 && stamp.hasSuffix("Z"))
    }
}
