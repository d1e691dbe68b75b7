import Model
import Testing

@Suite struct ChangeDescriptionTests {
    func describe(_ data: String, changed: String?, previous: String?) throws -> String? {
        ChangeDescription.describe(data: try JSONValue.parse(data), changed: try changed.map(JSONValue.parse),
                                   previous: try previous.map(JSONValue.parse))
    }

    @Test func embeddedRowsAreComparedByIdAndNamed() throws {
        let data = #"{"name":"Civic Map","members":[{"id":1,"name":"Ada Lovelace"},{"id":2,"name":"Bo"}]}"#
        #expect(try describe(data, changed: #"["members"]"#,
                             previous: #"{"members":[{"id":2,"name":"Bo"},{"id":3,"name":"Mei Hamilton"}]}"#)
                == "members: Mei Hamilton → Ada Lovelace")
        #expect(try describe(data, changed: #"["members"]"#, previous: #"{"members":[{"id":2,"name":"Bo"}]}"#)
                == "members: +Ada Lovelace")
        #expect(try describe(data, changed: #"["members"]"#, previous: #"{"members":[]}"#) == "members: +Ada Lovelace, +Bo")
        #expect(try describe(#"{"members":[]}"#, changed: #"["members"]"#, previous: #"{"members":[{"id":9,"username":"zed"}]}"#)
                == "members: −zed")
        #expect(try describe(data, changed: #"["members"]"#,
                             previous: #"{"members":[{"id":1,"name":"Ada Byron"},{"id":2,"name":"Bo"}]}"#)
                == "members: Ada Byron → Ada Lovelace", "a member renamed (a cascade)")
        #expect(try describe(#"{"hackathon":{"id":2,"name":"B"}}"#, changed: #"["hackathon"]"#, previous: #"{"hackathon":{"id":1,"name":"A"}}"#)
                == "hackathon: A → B")
    }

    @Test func scalarsShowOldToNewAndLongOnesAreShortened() throws {
        let long = String(repeating: "x", count: 60)
        #expect(try describe(#"{"name":"Compass","bio":"\#(long)","count":3}"#, changed: #"["bio","count","name"]"#,
                             previous: #"{"bio":null,"count":2,"name":"Compas"}"#)
                == "bio: null → \(String(repeating: "x", count: 39))…; count: 2 → 3; name: Compas → Compass")
    }

    @Test func withoutWhatChangedThereIsNothingToSay() throws {
        #expect(try describe(#"{"id":1}"#, changed: nil, previous: nil) == nil)
        #expect(try describe(#"{"id":1}"#, changed: #"["id"]"#, previous: nil) == nil, "an insert")
        #expect(try describe(#"{"id":1}"#, changed: "[]", previous: "{}") == nil)
    }
}
