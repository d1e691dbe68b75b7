import HTTP
import Postgres
import Search
import Server
import Testing

@Suite struct ConfigurationTests {
    @Test func uriPasswordsAreRedacted() {
        #expect(redactedDatabaseURL("postgresql://app:s3cret@db:5432/hacksync") == "postgresql://app:***@db:5432/hacksync")
        #expect(redactedDatabaseURL("postgres://db/hacksync?password=s3cret&sslmode=require")
            == "postgres://db/hacksync?password=***&sslmode=require")
        #expect(redactedDatabaseURL("postgresql://db/hacksync") == "postgresql://db/hacksync")
    }

    @Test func conninfoPasswordsAreRedacted() {
        #expect(redactedDatabaseURL("host=db password=s3cret dbname=x") == "host=db password=*** dbname=x")
        #expect(redactedDatabaseURL(#"host=db password = 'it\'s secret' dbname=x"#) == "host=db password=*** dbname=x")
        #expect(!redactedDatabaseURL("password=abc").contains("abc"))
    }

    @Test func elasticsearchCredentialsLeaveTheURL() throws {
        let url = try ElasticsearchURL("https://elastic:pa%3Ass@search.example:9200/")
        #expect(url.description == "https://search.example:9200")
        #expect(url.authorization == "Basic ZWxhc3RpYzpwYTpzcw==")  // elastic:pa:ss
        #expect(try ElasticsearchURL("http://localhost:9200").authorization == nil)
        #expect(throws: (any Error).self) { try ElasticsearchURL("ftp://x") }
    }

    @Test func listenAddressesParse() throws {
        #expect(try ListenAddress(parsing: "127.0.0.1:8080") == ListenAddress(host: "127.0.0.1", port: 8080))
        #expect(try ListenAddress(parsing: "[::1]:9000") == ListenAddress(host: "::1", port: 9000))
        #expect(try ListenAddress(parsing: ":80") == ListenAddress(host: "0.0.0.0", port: 80))
        #expect(throws: (any Error).self) { try ListenAddress(parsing: "localhost") }
        #expect(throws: (any Error).self) { try ListenAddress(parsing: "h:99999") }
    }
}
