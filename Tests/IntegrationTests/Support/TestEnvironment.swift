import Foundation
import Testing

/// The real servers `make test` starts, found through environment variables.
enum TestEnvironment {
    static let env = ProcessInfo.processInfo.environment
    static let databaseURL = env["HACKSYNC_TEST_DATABASE_URL"]
    static let elasticsearchURL = env["HACKSYNC_TEST_ELASTICSEARCH_URL"]
    static let binary = env["HACKSYNC_TEST_BINARY"]
    static let searchPIDFile = env["HACKSYNC_SEARCH_PID_FILE"]

    /// `make test` sets HACKSYNC_REQUIRE_INTEGRATION: then a missing server is
    /// a failure, not a skip.
    static let required = env["HACKSYNC_REQUIRE_INTEGRATION"] == "1"
    static let available = databaseURL != nil && elasticsearchURL != nil
    static let enabled = available || required

    static let triggers = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("triggers")

    static func require() throws -> (databaseURL: String, elasticsearchURL: String) {
        guard let databaseURL, let elasticsearchURL else {
            throw TestSetupError("integration tests need HACKSYNC_TEST_DATABASE_URL and HACKSYNC_TEST_ELASTICSEARCH_URL (run `make test`)")
        }
        return (databaseURL, elasticsearchURL)
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Trait where Self == ConditionTrait {
    /// Runs against the real Postgres and search server.
    static var integration: Self {
        .enabled(if: TestEnvironment.enabled, "needs the servers `make test` starts")
    }
}
