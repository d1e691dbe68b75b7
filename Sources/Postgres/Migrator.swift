import Foundation
import Logging
import Model

/// Applies the SQL files of a directory, Flyway-style:
/// - `V<n>__<name>.sql` run once each, in version order, recorded in
///   `sync.schema_migrations`; a recorded file whose content changed is an error.
/// - `R__<name>.sql` (functions, triggers: `CREATE OR REPLACE`) run in name
///   order after the versioned ones, again whenever their content changes.
/// Each file runs in its own transaction; an advisory lock keeps two
/// migrators from interleaving.
public struct Migrator: Sendable {
    public struct Migration: Sendable, Equatable {
        public enum Kind: Sendable, Equatable { case versioned(Int), repeatable }
        public var name: String
        public var kind: Kind
        public var sql: String
        public var checksum: String { fnv1a64(sql) }

        public init(name: String, kind: Kind, sql: String) {
            self.name = name
            self.kind = kind
            self.sql = sql
        }
    }

    public static let lockKey: Int64 = 7_261_003
    public var migrations: [Migration]

    public init(migrations: [Migration]) {
        self.migrations = migrations
    }

    /// Loads the top-level `.sql` files of `directory` (subfolders, such as
    /// `replication/`, are not migrations).
    public init(directory: URL) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        var versioned: [(Int, Migration)] = []
        var repeatable: [Migration] = []
        for name in names where name.hasSuffix(".sql") {
            let sql = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            if name.hasPrefix("R__") {
                repeatable.append(Migration(name: name, kind: .repeatable, sql: sql))
            } else if name.hasPrefix("V"), let separator = name.range(of: "__"),
                      let version = Int(name[name.index(after: name.startIndex)..<separator.lowerBound]) {
                versioned.append((version, Migration(name: name, kind: .versioned(version), sql: sql)))
            } else {
                throw MigrationError(message: "\(name): not a migration name (V<n>__name.sql or R__name.sql)")
            }
        }
        let duplicates = Dictionary(grouping: versioned, by: \.0).filter { $0.value.count > 1 }
        if let (version, _) = duplicates.first {
            throw MigrationError(message: "two migrations have version \(version)")
        }
        migrations = versioned.sorted { $0.0 < $1.0 }.map(\.1) + repeatable.sorted { $0.name < $1.name }
    }

    /// These migrations plus `generated` repeatable ones (SQL made by the
    /// program rather than read from a file), run in name order among the rest.
    public func adding(generated: [Migration]) throws -> Migrator {
        for migration in generated {
            guard migration.kind == .repeatable, migration.name.hasPrefix("R__") else {
                throw MigrationError(message: "\(migration.name): a generated migration is repeatable (R__name)")
            }
            guard !migrations.contains(where: { $0.name == migration.name }) else {
                throw MigrationError(message: "\(migration.name) is both a file and generated")
            }
        }
        let versioned = migrations.filter { $0.kind != .repeatable }
        let repeatable = (migrations.filter { $0.kind == .repeatable } + generated).sorted { $0.name < $1.name }
        return Migrator(migrations: versioned + repeatable)
    }

    /// Applies what is missing or changed; returns the names applied.
    @discardableResult
    public func migrate(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.query("SELECT pg_advisory_lock($1)", [Self.lockKey])
        do {
            let applied = try await migrateLocked(connection, logger: logger)
            try await connection.query("SELECT pg_advisory_unlock($1)", [Self.lockKey])
            return applied
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock($1)", [Self.lockKey])
            throw error
        }
    }

    private func migrateLocked(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.execute("""
            CREATE SCHEMA IF NOT EXISTS sync;
            CREATE TABLE IF NOT EXISTS sync.schema_migrations (
                name       text PRIMARY KEY,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            """)
        let recorded = try await connection.query("SELECT name, checksum FROM sync.schema_migrations")
        var checksums: [String: String] = [:]
        for row in recorded.rows { if let name = row[0], let sum = row[1] { checksums[name] = sum } }

        var applied: [String] = []
        for migration in migrations {
            let previous = checksums[migration.name]
            switch (migration.kind, previous) {
            case (.versioned, let sum?) where sum != migration.checksum:
                throw MigrationError(message: "\(migration.name) was changed after it was applied; add a new migration instead")
            case (_, let sum?) where sum == migration.checksum:
                continue
            default:
                break
            }
            try await connection.transaction { connection in
                do {
                    try await connection.execute(migration.sql)
                } catch {
                    throw MigrationError(message: "\(migration.name): \(error)")
                }
                try await connection.query(
                    """
                    INSERT INTO sync.schema_migrations (name, checksum) VALUES ($1, $2)
                    ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()
                    """,
                    [migration.name, migration.checksum])
            }
            logger.info("applied migration", metadata: ["migration": "\(migration.name)"])
            applied.append(migration.name)
        }
        return applied
    }
}

public struct MigrationError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { "migration failed: \(message)" }
}
