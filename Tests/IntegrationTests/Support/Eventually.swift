import Foundation

/// Polls `condition` until it holds or `timeout` passes; then throws with the
/// last explanation. For waiting on asynchronous sync, never for timing.
func eventually(
    timeout: Duration = .seconds(30),
    interval: Duration = .milliseconds(50),
    _ what: String,
    _ condition: () async throws -> String?
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    var last: String? = "never checked"
    while clock.now < deadline {
        do { last = try await condition() } catch { last = "\(error)" }
        if last == nil { return }
        try await Task.sleep(for: interval)
    }
    throw TestSetupError("timed out after \(timeout) waiting for \(what): \(last ?? "")")
}
