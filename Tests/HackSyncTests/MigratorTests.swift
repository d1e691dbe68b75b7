import Foundation
import Postgres
import Testing

@Suite struct MigratorTests {
    func directory(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, sql) in files { try sql.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return dir
    }

    @Test func versionedRunNumericallyThenRepeatableByName() throws {
        let dir = try directory(["V10__c.sql": "", "V2__b.sql": "", "V1__a.sql": "", "R__z.sql": "", "R__a.sql": "", "notes.txt": ""])
        let migrator = try Migrator(directory: dir)
        #expect(migrator.migrations.map(\.name) == ["V1__a.sql", "V2__b.sql", "V10__c.sql", "R__a.sql", "R__z.sql"])
    }

    @Test func badNamesAndDuplicateVersionsAreRefused() throws {
        #expect(throws: MigrationError.self) { try Migrator(directory: try directory(["001_init.sql": ""])) }
        #expect(throws: MigrationError.self) { try Migrator(directory: try directory(["V1__a.sql": "", "V01__b.sql": ""])) }
    }

    @Test func theProjectsOwnMigrationsLoad() throws {
        let triggers = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("triggers")
        let migrator = try Migrator(directory: triggers)
        #expect(migrator.migrations.first?.name == "V001__platform_schema.sql")
        #expect(migrator.migrations.contains { $0.name == "R__70_sync_batch.sql" })
    }
}
