/// The platform's search documents, each declared once. Adding a field to a
/// document is one edit here, plus the migration that adds its column.
public enum DocumentDeclarations {
    public typealias Field = DocumentDeclaration.Field

    public static let users = DocumentDeclaration(.users, table: "users", fields: [
        .column("id", .long),
        .column("username", .keyword, searched: true),
        .column("name", .textWithKeyword),
        .column("email", .keyword, private: true),
        .column("bio", .text),
        .column("skills", .keyword, searched: true),
        .column("college", .textWithKeyword),
        .many("hackathons", table: "hackathons", through: "hackathon_participants", from: "user_id", to: "hackathon_id", [
            .column("id", .long),
            .column("name", .textWithKeyword),
        ]),
        .count("project_count", table: "project_members", foreignKey: "user_id"),
        .count("activity_count", table: "activity_events", foreignKey: "user_id"),
        .latest("last_activity_at", table: "activity_events", foreignKey: "user_id", column: "occurred_at"),
    ])

    public static let hackathons = DocumentDeclaration(.hackathons, table: "hackathons", fields: [
        .column("id", .long),
        .column("name", .textWithKeyword),
        .column("starts_at", .date),
        .column("ends_at", .date),
        .column("location", .textWithKeyword),
        .column("tracks", .keyword, searched: true),
        .count("participant_count", table: "hackathon_participants", foreignKey: "hackathon_id"),
        .count("project_count", table: "projects", foreignKey: "hackathon_id"),
    ])

    public static let projects = DocumentDeclaration(.projects, table: "projects", fields: [
        .column("id", .long),
        .column("name", .textWithKeyword),
        .column("description", .text),
        .column("repo_url", .keyword),
        .one("hackathon", table: "hackathons", foreignKey: "hackathon_id", [
            .column("id", .long),
            .column("name", .textWithKeyword),
        ]),
        .many("members", table: "users", through: "project_members", from: "project_id", to: "user_id", [
            .column("id", .long),
            .column("username", .keyword, searched: true),
            .column("name", .textWithKeyword),
        ]),
        .one("created_by", table: "users", foreignKey: "created_by", [
            .column("id", .long),
            .column("username", .keyword),
        ]),
        .count("activity_count", table: "activity_events", foreignKey: "project_id"),
        .latest("last_activity_at", table: "activity_events", foreignKey: "project_id", column: "occurred_at"),
    ])

    /// The declaration of `entity`.
    public static func declaration(_ entity: Entity) -> DocumentDeclaration {
        switch entity {
        case .users: users
        case .hackathons: hackathons
        case .projects: projects
        }
    }

    /// Top-level fields only authorized readers see, per document.
    public static func privateFields(_ entity: Entity) -> Set<String> {
        declaration(entity).privateFields
    }
}
