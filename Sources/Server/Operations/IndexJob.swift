import Foundation
import Model
import Postgres
import Sync

/// An index build as stored in `sync.index_jobs` (the checkpoint) and shown
/// by the CLI and the admin API.
public struct IndexJob: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable {
        /// Build a new versioned index beside the live one, then swap the alias.
        case reindex
        /// Refill the index the alias points at (after it lost documents).
        case rebuild
    }

    public var id: Int64
    public var entity: Entity
    public var mode: Mode
    public var targetIndex: String
    public var phase: String
    public var lastID: Int64
    public var copied: Int64
    public var total: Int64
    public var reason: String
    public var error: String?
    public var startedAt: Date
    public var updatedAt: Date
    public var finishedAt: Date?
    /// Documents per second over the job's life so far.
    public var rate: Double?

    public var isFinished: Bool { finishedAt != nil }
    public var fraction: Double { total > 0 ? min(1, Double(copied) / Double(total)) : (phase == "copying" ? 0 : 1) }

    enum CodingKeys: String, CodingKey {
        case id, entity, mode, targetIndex = "target_index", phase, lastID = "last_id", copied, total, reason, error
        case startedAt = "started_at", updatedAt = "updated_at", finishedAt = "finished_at", rate
    }

    static let columns = """
        id, entity, mode, target_index, phase, last_id, copied, total, reason, error,
        \(PostgresRows.epoch("started_at")), \(PostgresRows.epoch("updated_at")), \(PostgresRows.epoch("finished_at")),
        copied / greatest(extract(epoch FROM coalesce(finished_at, now()) - started_at), 0.001)
        """

    init?(row: [String?]) {
        guard let id = row.int64(0), let entity = row.string(1).flatMap(Entity.init(rawValue:)),
              let mode = row.string(2).flatMap(Mode.init(rawValue:)), let target = row.string(3)
        else { return nil }
        self.id = id
        self.entity = entity
        self.mode = mode
        self.targetIndex = target
        self.phase = row.string(4) ?? ""
        self.lastID = row.int64(5) ?? 0
        self.copied = row.int64(6) ?? 0
        self.total = row.int64(7) ?? 0
        self.reason = row.string(8) ?? ""
        self.error = row.string(9)
        self.startedAt = row.date(10) ?? .distantPast
        self.updatedAt = row.date(11) ?? .distantPast
        self.finishedAt = row.date(12)
        self.rate = row.double(13)
    }
}

