import Foundation

/// Finds the `triggers/` folder: an explicit path, `HACKSYNC_MIGRATIONS`,
/// `./triggers`, `share/hacksync/triggers` next to the binary's prefix, or
/// the nearest `triggers/` above the executable (a `.build/...` binary in a
/// checkout).
public func locateMigrations(explicit: String?) throws -> URL {
    let fm = FileManager.default
    if let path = explicit ?? ProcessInfo.processInfo.environment["HACKSYNC_MIGRATIONS"] {
        guard fm.fileExists(atPath: path) else { throw ConfigurationError(message: "migrations folder \(path) does not exist") }
        return URL(fileURLWithPath: path)
    }
    var candidates = [URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("triggers")]
    var dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    candidates.append(dir.deletingLastPathComponent().appendingPathComponent("share/hacksync/triggers"))
    while dir.path != "/" {
        candidates.append(dir.appendingPathComponent("triggers"))
        dir = dir.deletingLastPathComponent()
    }
    for candidate in candidates where fm.fileExists(atPath: candidate.appendingPathComponent("V001__platform_schema.sql").path) {
        return candidate
    }
    throw ConfigurationError(message: "cannot find the triggers/ folder; pass --migrations PATH or set HACKSYNC_MIGRATIONS")
}
