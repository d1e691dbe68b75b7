import Model
import Server
import Sync
import Testing

/// Events say what changed (`changed`, `previous`), computed once in the
/// settle against the state the previous event carried, with the private
/// fields left out of the public view; replays carry the same.
@Suite(.integration) struct EventChangeTests {
    @Test func eachEventSaysWhatChangedAgainstThePreviousOneAndThePublicViewHidesTheEmail() async throws {
        try await SyncFixture.with(sync: false) { f in
            let store = PostgresChangeStore(database: f.connector, leadership: Leadership(logger: f.logger))
            func settleNext() async throws -> DocumentEvent {
                let batch = try #require(try await store.nextBatch(limit: 100, excluding: [], scope: .oldest))
                let events = try await store.settle(batch, applied: batch.documents.documents, rejected: [])
                return try #require(events.first)
            }
            let id = try await f.insertUser("ada", name: "Ada", email: "ada@example.org")
            let insert = try await settleNext()
            let fields = try #require(try JSONValue.parse(insert.data).object).keys.sorted()
            #expect(try insert.changed.map(JSONValue.parse) == .array(fields.map(JSONValue.string)), "an insert changed every field")
            #expect(insert.previous == nil && insert.publicPrevious == nil)
            #expect(insert.publicChanged?.contains("email") == false)

            try await f.sql("UPDATE users SET name = 'Ada L', bio = 'maths' WHERE id = $1", [id])
            let update = try await settleNext()
            #expect(update.changed == #"["bio", "name"]"#)
            #expect(update.previous == #"{"bio": null, "name": "Ada"}"#)
            #expect(update.publicChanged == #"["bio", "name"]"#)

            try await f.sql("UPDATE users SET email = 'lovelace@example.org' WHERE id = $1", [id])
            let emailOnly = try await settleNext()
            #expect(emailOnly.changed == #"["email"]"#)
            #expect(emailOnly.previous == #"{"email": "ada@example.org"}"#)
            #expect(emailOnly.publicChanged == "[]", "an anonymous subscriber learns nothing of the e-mail")
            #expect(emailOnly.publicPrevious == "{}")

            try await f.sql("DELETE FROM users WHERE id = $1", [id])
            let delete = try await settleNext()
            #expect(delete.changed == nil && delete.publicChanged == nil)
            #expect(delete.previous?.contains("lovelace@example.org") == true, "a delete's previous is the last state")
            #expect(delete.publicPrevious?.contains("lovelace") == false)

            // A replay reads the same from the log.
            let replayed = try await PostgresEventLog(f.connector.shared(applicationName: "hacksync-test-events"))
                .events(channel: .users, after: 0, limit: 10)
            #expect(replayed == [insert, update, emailOnly, delete])
        }
    }

    /// A user rename cascades: each project that embeds the user changes only its `members`.
    @Test func aCascadedUpdateChangesOnlyTheEmbeddingField() async throws {
        try await SyncFixture.with(sync: false) { f in
            let store = PostgresChangeStore(database: f.connector, leadership: Leadership(logger: f.logger))
            func settleAll() async throws -> [DocumentEvent] {
                let batch = try #require(try await store.nextBatch(limit: 100, excluding: [], scope: .oldest))
                return try await store.settle(batch, applied: batch.documents.documents, rejected: [])
            }
            let ada = try await f.insertUser("ada", name: "Ada Byron")
            let hackathon = try await f.insertHackathon("H")
            let first = try await f.insertProject("Compass", hackathon: hackathon, createdBy: nil, members: [ada])
            let second = try await f.insertProject("Atlas", hackathon: hackathon, createdBy: nil, members: [ada])
            _ = try await settleAll()

            try await f.sql("UPDATE users SET name = 'Ada Lovelace' WHERE id = $1", [ada])
            let events = try await settleAll()
            let projects = events.filter { $0.ref.entity == .projects }
            #expect(Set(projects.map(\.ref.id)) == [first, second])
            for event in projects {
                #expect(event.changed == #"["members"]"#)
                #expect(event.previous?.contains("Ada Byron") == true && event.data.contains("Ada Lovelace"))
            }
            #expect(events.first { $0.ref == DocumentRef(.users, ada) }?.changed == #"["name"]"#)
        }
    }
}
