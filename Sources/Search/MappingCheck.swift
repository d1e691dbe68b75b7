import Model

/// How a live index's mapping stands against the document declaration,
/// decided without a cluster. The index records in its `_meta` the hash of
/// the properties it was built with (`IndexMappings.metaKey`).
public enum MappingCheck {
    public enum Verdict: Equatable, Sendable {
        /// Built from this declaration, and unchanged since.
        case current
        /// Built from another declaration (`builtFrom`: its hash; nil for an
        /// index from before declarations were recorded), unchanged since.
        case declarationChanged(builtFrom: String?)
        /// Its properties are no longer those it records being built with:
        /// someone changed the mapping by hand.
        case drifted
    }

    public static func verdict(live mapping: JSONValue, declaration: DocumentDeclaration) -> Verdict {
        let declared = IndexMappings.declarationHash(declaration)
        let actual = IndexMappings.propertiesHash(mapping["properties"] ?? .object([:]))
        guard let recorded = mapping["_meta"]?[IndexMappings.metaKey]?.string else {
            return actual == declared ? .current : .declarationChanged(builtFrom: nil)
        }
        if recorded != actual { return .drifted }
        return recorded == declared ? .current : .declarationChanged(builtFrom: recorded)
    }

    /// The properties of `declared` that `live` lacks, nested objects
    /// included: what a live index needs so that documents of the new
    /// declaration are accepted while it is replaced. Nil when none.
    public static func missing(declared: JSONValue, live: JSONValue) -> JSONValue? {
        guard let declared = declared.object else { return nil }
        let present = live.object ?? [:]
        var missing: [String: JSONValue] = [:]
        for (name, property) in declared {
            guard let existing = present[name] else {
                missing[name] = property
                continue
            }
            if let inner = property["properties"],
               let lacking = Self.missing(declared: inner, live: existing["properties"] ?? .object([:])) {
                missing[name] = .object(["properties": lacking])
            }
        }
        return missing.isEmpty ? nil : .object(missing)
    }
}
