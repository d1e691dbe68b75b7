import Foundation

/// The servers `make test` started, restarted the way an outage would:
/// through `scripts/services.sh` so that tests and scripts share one recipe.
enum TestServices {
    /// Kills the search server and starts an empty one on the same port.
    static func wipeSearchServer() async throws { try await run("restart-search") }

    /// Restarts Postgres with a fast shutdown: every connection is dropped.
    static func restartPostgres() async throws { try await run("restart-postgres") }

    static let script = TestEnvironment.triggers.deletingLastPathComponent().appendingPathComponent("scripts/services.sh")

    private static func run(_ command: String) async throws {
        guard TestEnvironment.env["RUN_DIR"] != nil else {
            throw TestSetupError("RUN_DIR is not set: fault tests restart the servers `make test` started")
        }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("services-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let status = try await ChildProcess("/bin/bash", [script.path, command], output: output).wait()
        guard status == 0 else {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            throw TestSetupError("services.sh \(command) failed (\(status)): \(text)")
        }
    }
}
