import Model

/// Index definitions (settings and explicit mappings) derived from the
/// document declarations (`DocumentDeclarations`). Mappings are `strict`: a
/// document with a field the mapping does not know is rejected (and
/// dead-lettered) rather than silently widening the index.
///
/// Each mapping records in its `_meta` which declaration built it
/// (`hacksync_declaration`: a hash of its properties), so an index built
/// from an older declaration, or changed by hand, is recognised.
public enum IndexMappings {
    /// The key in a mapping's `_meta` that holds `declarationHash`.
    public static let metaKey = "hacksync_declaration"

    /// The index definition (settings, mappings, `_meta`) for a declaration.
    public static func definition(for declaration: DocumentDeclaration) -> String {
        #"{"settings":{"number_of_shards":1},"mappings":{"dynamic":"strict","_meta":{"\#(metaKey)":"\#(declarationHash(declaration))"},"properties":\#(properties(declaration.fields))}}"#
    }

    public static func definition(for entity: Entity) -> String {
        definition(for: DocumentDeclarations.declaration(entity))
    }

    /// Names the searchable shape of a declaration: the same for the same
    /// properties, different as soon as one is added, removed or retyped.
    public static func declarationHash(_ declaration: DocumentDeclaration) -> String {
        propertiesHash(declaredProperties(declaration))
    }

    /// The hash of a `properties` object, whatever the order of its keys
    /// (the cluster answers them sorted) and whether an object field says
    /// `"type":"object"` (implied by its `properties`; a cluster may add it).
    public static func propertiesHash(_ properties: JSONValue) -> String {
        fnv1a64(canonical(properties).description)
    }

    private static func canonical(_ properties: JSONValue) -> JSONValue {
        guard case .object(let fields) = properties else { return properties }
        return .object(fields.mapValues { property in
            guard case .object(var attributes) = property, let inner = attributes["properties"] else { return property }
            if attributes["type"] == .string("object") { attributes["type"] = nil }
            attributes["properties"] = canonical(inner)
            return .object(attributes)
        })
    }

    /// The declaration's `properties`, parsed.
    public static func declaredProperties(_ declaration: DocumentDeclaration) -> JSONValue {
        // Generated here from names and fixed texts: always valid JSON.
        try! JSONValue.parse(properties(declaration.fields))
    }

    /// The `properties` object for fields, in declaration order.
    static func properties(_ fields: [DocumentDeclaration.Field]) -> String {
        "{" + fields.map { "\(jsonQuoted($0.name)):\(property($0.source))" }.joined(separator: ",") + "}"
    }

    private static func property(_ source: DocumentDeclaration.Source) -> String {
        switch source {
        case .column(_, let type): field(type)
        case .one(_, _, let fields), .many(_, _, let fields): #"{"properties":\#(properties(fields))}"#
        case .count: field(.integer)
        case .latest: field(.date)
        }
    }

    private static func field(_ type: DocumentDeclaration.SearchType) -> String {
        switch type {
        case .keyword: #"{"type":"keyword"}"#
        case .text: #"{"type":"text"}"#
        case .textWithKeyword: #"{"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}}"#
        case .long: #"{"type":"long"}"#
        case .integer: #"{"type":"integer"}"#
        case .date: #"{"type":"date"}"#
        }
    }
}
