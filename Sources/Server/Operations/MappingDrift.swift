import Model
import Synchronization

/// Live indexes whose mapping was changed by hand, as the index guard last
/// found them: a readiness reason and a metric until the reindex it starts
/// has replaced the index.
public final class MappingDrift: Sendable {
    private let problems = Mutex<[Entity: String]>([:])

    public init() {}

    func report(_ entity: Entity, _ problem: String) {
        problems.withLock { $0[entity] = problem }
    }

    func clear(_ entity: Entity) {
        problems.withLock { $0[entity] = nil }
    }

    /// What is wrong, per drifted document kind.
    public var current: [Entity: String] { problems.withLock { $0 } }
}
