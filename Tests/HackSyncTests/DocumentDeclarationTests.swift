import Foundation
import Model
import Postgres
@testable import Search
@testable import Server
import Testing

/// What the document declarations generate, and how a live mapping is
/// judged against them, without a cluster or a database.
@Suite struct DocumentDeclarationTests {
    typealias Field = DocumentDeclaration.Field

    /// The names of `fields`, nested ones as dotted paths.
    static func paths(_ fields: [Field], prefix: String = "") -> Set<String> {
        Set(fields.flatMap { field -> [String] in
            switch field.source {
            case .one(_, _, let inner), .many(_, _, let inner): [prefix + field.name] + paths(inner, prefix: prefix + field.name + ".")
            default: [prefix + field.name]
            }
        })
    }

    /// The property names of a mapping's `properties`, nested ones as dotted paths.
    static func paths(_ properties: JSONValue, prefix: String = "") -> Set<String> {
        Set((properties.object ?? [:]).flatMap { name, property -> [String] in
            [prefix + name] + (property["properties"].map { Array(paths($0, prefix: prefix + name + ".")) } ?? [])
        })
    }

    @Test func everyMappingIsStrictRecordsItsDeclarationAndHasExactlyTheDeclaredFields() throws {
        for entity in Entity.allCases {
            let declaration = DocumentDeclarations.declaration(entity)
            let definition = try JSONValue.parse(IndexMappings.definition(for: entity))
            let mapping = try #require(definition["mappings"])
            #expect(mapping["dynamic"] == .string("strict"))
            #expect(mapping["_meta"]?[IndexMappings.metaKey] == .string(IndexMappings.declarationHash(declaration)))
            #expect(Self.paths(mapping["properties"] ?? .null) == Self.paths(declaration.fields), "\(entity)")
            #expect(MappingCheck.verdict(live: mapping, declaration: declaration) == .current)
        }
    }

    @Test func theHashFollowsTheShapeNotTheOrder() {
        var projects = DocumentDeclarations.projects
        let hash = IndexMappings.declarationHash(projects)
        projects.fields.reverse()
        #expect(IndexMappings.declarationHash(projects) == hash)
        projects.fields.append(.column("github_url", .keyword))
        #expect(IndexMappings.declarationHash(projects) != hash)
        var retyped = DocumentDeclarations.projects
        retyped.fields[retyped.fields.firstIndex { $0.name == "repo_url" }!] = .column("repo_url", .text)
        #expect(IndexMappings.declarationHash(retyped) != hash)
    }

    @Test func aLiveMappingIsCurrentFromAnotherDeclarationOrChangedByHand() throws {
        let old = DocumentDeclarations.projects
        var new = old
        new.fields.append(.column("github_url", .keyword))
        let built = { (declaration: DocumentDeclaration) in try #require(JSONValue.parse(IndexMappings.definition(for: declaration))["mappings"]) }

        #expect(MappingCheck.verdict(live: try built(new), declaration: new) == .current)
        #expect(MappingCheck.verdict(live: try built(old), declaration: new) == .declarationChanged(builtFrom: IndexMappings.declarationHash(old)))

        // An index from before declarations were recorded: judged by its shape alone.
        guard case .object(var unrecorded) = try built(old) else { Issue.record("a mapping is an object"); return }
        unrecorded["_meta"] = nil
        #expect(MappingCheck.verdict(live: .object(unrecorded), declaration: old) == .current)
        #expect(MappingCheck.verdict(live: .object(unrecorded), declaration: new) == .declarationChanged(builtFrom: nil))

        // A property added by hand: the mapping is no longer what it records.
        guard case .object(var byHand) = try built(new), case .object(var properties) = byHand["properties"]! else {
            Issue.record("a mapping has properties"); return
        }
        properties["added_by_hand"] = .object(["type": .string("keyword")])
        byHand["properties"] = .object(properties)
        #expect(MappingCheck.verdict(live: .object(byHand), declaration: new) == .drifted)
        #expect(MappingCheck.verdict(live: .object(byHand), declaration: old) == .drifted)

        // A cluster that spells out the implied `"type":"object"` has not changed anything.
        guard case .object(var spelledOut) = try built(new), case .object(var fields) = spelledOut["properties"]!,
              case .object(var members) = fields["members"]! else { Issue.record("members"); return }
        members["type"] = .string("object")
        fields["members"] = .object(members)
        spelledOut["properties"] = .object(fields)
        #expect(MappingCheck.verdict(live: .object(spelledOut), declaration: new) == .current)
    }

    @Test func whatALiveIndexLacksIncludesNestedFieldsAndNothingItHas() throws {
        let old = IndexMappings.declaredProperties(DocumentDeclarations.projects)
        var projects = DocumentDeclarations.projects
        projects.fields.append(.column("github_url", .keyword))
        let members = projects.fields.firstIndex { $0.name == "members" }!
        guard case .many(let table, let through, var fields) = projects.fields[members].source else { Issue.record("members"); return }
        fields.append(.column("avatar", .keyword))
        projects.fields[members].source = .many(table: table, through: through, fields: fields)
        let new = IndexMappings.declaredProperties(projects)

        let missing = try #require(MappingCheck.missing(declared: new, live: old))
        #expect(Self.paths(missing) == ["github_url", "members", "members.avatar"])
        #expect(missing[path: "members.properties.avatar"] == .object(["type": .string("keyword")]))
        #expect(MappingCheck.missing(declared: old, live: new) == nil, "a removed field is not added back")
        #expect(MappingCheck.missing(declared: new, live: new) == nil)
    }

    @Test func privateFieldsAreDeclaredOnceAndNeverSearched() {
        #expect(DocumentDeclarations.privateFields(.users) == ["email"])
        #expect(DocumentDeclarations.privateFields(.projects).isEmpty)
        for entity in Entity.allCases {
            let declaration = DocumentDeclarations.declaration(entity)
            #expect(declaration.privateFields.isDisjoint(with: declaration.searchedPaths))
        }
        #expect(DocumentDeclarations.projects.searchedPaths == ["name", "description", "hackathon.name", "members.username", "members.name"])
        #expect(DocumentDeclarations.users.searchedPaths == ["username", "name", "bio", "skills", "college", "hackathons.name"])
        let sql = DeclaredSQL.privateFields(Entity.allCases.map(DocumentDeclarations.declaration))
        #expect(sql.contains("CASE doc_entity WHEN 'users' THEN ARRAY['email'] END"))
        #expect(DeclaredSQL.privateFields([DocumentDeclarations.projects]).contains("SELECT NULL::text[]"))
    }

    @Test func aDeclarationTheGeneratorCannotWriteIsRefusedWithItsReason() throws {
        var bad = DocumentDeclarations.projects
        bad.fields.append(.column("github-url", .keyword))
        #expect(throws: DeclaredSQL.Invalid.self) { try DeclaredSQL.sql([bad]) }
        bad = DocumentDeclarations.projects
        bad.fields.append(.column("name", .text))
        #expect(throws: DeclaredSQL.Invalid.self) { try DeclaredSQL.sql([bad]) }
        bad = DocumentDeclarations.projects
        bad.fields.append(.one("owner", table: "users", foreignKey: "created_by", [.count("projects", table: "projects", foreignKey: "x")]))
        #expect(throws: DeclaredSQL.Invalid.self) { try DeclaredSQL.sql([bad]) }
        bad = DocumentDeclarations.users
        bad.fields.removeAll { $0.name == "id" }
        #expect(throws: DeclaredSQL.Invalid.self) { try DeclaredSQL.sql([bad]) }
        #expect(try DeclaredSQL.sql(Entity.allCases.map(DocumentDeclarations.declaration)).contains("sync.projects_documents(ids bigint[])"))
    }

    @Test func theGeneratedMigrationRunsInNameOrderAmongTheFiles() throws {
        let files = Migrator(migrations: [
            .init(name: "V001__schema.sql", kind: .versioned(1), sql: ""),
            .init(name: "R__00_common.sql", kind: .repeatable, sql: ""),
            .init(name: "R__80_settle.sql", kind: .repeatable, sql: ""),
        ])
        let migrator = try files.adding(generated: [try DeclaredSQL.migration()])
        #expect(migrator.migrations.map(\.name) == ["V001__schema.sql", "R__00_common.sql", DeclaredSQL.name, "R__80_settle.sql"])
        #expect(throws: MigrationError.self) { try migrator.adding(generated: [try DeclaredSQL.migration()]) }
        #expect(throws: MigrationError.self) { try files.adding(generated: [.init(name: "V9__x.sql", kind: .versioned(9), sql: "")]) }
    }
}
