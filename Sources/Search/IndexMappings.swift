/// Index definitions (settings and explicit mappings) for HackSync's three
/// document kinds. Mappings are `strict`: a document with a field the mapping
/// does not know is rejected (and dead-lettered) rather than silently widening
/// the index. Their shape must match the documents built in
/// triggers/R__60_documents.sql.
public enum IndexMappings {
    private static let textWithKeyword = #"{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}}"#

    public static let users = """
    {"settings":{"number_of_shards":1},"mappings":{"dynamic":"strict","properties":{\
    "id":{"type":"long"},\
    "username":{"type":"keyword"},\
    "name":\(textWithKeyword),\
    "email":{"type":"keyword"},\
    "bio":{"type":"text"},\
    "skills":{"type":"keyword"},\
    "college":\(textWithKeyword),\
    "hackathons":{"properties":{"id":{"type":"long"},"name":\(textWithKeyword)}},\
    "project_count":{"type":"integer"}}}}
    """

    public static let hackathons = """
    {"settings":{"number_of_shards":1},"mappings":{"dynamic":"strict","properties":{\
    "id":{"type":"long"},\
    "name":\(textWithKeyword),\
    "starts_at":{"type":"date"},\
    "ends_at":{"type":"date"},\
    "location":\(textWithKeyword),\
    "tracks":{"type":"keyword"},\
    "participant_count":{"type":"integer"},\
    "project_count":{"type":"integer"}}}}
    """

    public static let projects = """
    {"settings":{"number_of_shards":1},"mappings":{"dynamic":"strict","properties":{\
    "id":{"type":"long"},\
    "name":\(textWithKeyword),\
    "description":{"type":"text"},\
    "repo_url":{"type":"keyword"},\
    "hackathon":{"properties":{"id":{"type":"long"},"name":\(textWithKeyword)}},\
    "members":{"properties":{"id":{"type":"long"},"username":{"type":"keyword"},"name":\(textWithKeyword)}},\
    "created_by":{"properties":{"id":{"type":"long"},"username":{"type":"keyword"}}}}}}
    """

    /// The definition for an entity name (`users`, `hackathons`, `projects`).
    public static func definition(for entity: String) -> String? {
        switch entity {
        case "users": return users
        case "hackathons": return hackathons
        case "projects": return projects
        default: return nil
        }
    }
}
