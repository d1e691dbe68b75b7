import Model
import Realtime
import Sync
import Testing

@Suite struct SubscriptionTests {
    func event(_ entity: Entity = .projects, _ op: DocumentEvent.Operation = .update, data: String) -> DocumentEvent {
        DocumentEvent(seq: 1, ref: DocumentRef(entity, 1), operation: op, data: data, publicData: nil, at: "")
    }
    let project = #"{"id":1,"name":"Compass","hackathon":{"id":42,"name":"H"},"members":[{"id":7},{"id":8}],"created_by":null}"#

    func matches(_ s: Subscription, _ e: DocumentEvent) -> Bool {
        s.matches(e) { try? JSONValue.parse(e.data) }
    }

    @Test func channelAndEventTypesFilter() {
        let deletes = Subscription(channel: .projects, events: [.delete])
        #expect(!matches(deletes, event(data: project)))
        #expect(matches(deletes, event(.projects, .delete, data: project)))
        #expect(!matches(Subscription(channel: .users), event(data: project)))
    }

    @Test func dottedPathsMatchByEqualityAndAllMustMatch() {
        #expect(matches(Subscription(channel: .projects, filter: ["hackathon.id": .number(42)]), event(data: project)))
        #expect(!matches(Subscription(channel: .projects, filter: ["hackathon.id": .number(41)]), event(data: project)))
        #expect(!matches(Subscription(channel: .projects, filter: ["hackathon.id": .number(42), "name": .string("Other")]), event(data: project)))
        #expect(matches(Subscription(channel: .projects, filter: ["created_by": .null]), event(data: project)))
        #expect(!matches(Subscription(channel: .projects, filter: ["hackathon.id": .string("42")]), event(data: project)))
    }

    @Test func aPathThroughAnArrayMatchesAnyElement() {
        #expect(matches(Subscription(channel: .projects, filter: ["members.id": .number(8)]), event(data: project)))
        #expect(!matches(Subscription(channel: .projects, filter: ["members.id": .number(9)]), event(data: project)))
    }

    @Test func requestsParseAndBadOnesExplainThemselves() throws {
        let ok = try ClientRequest.parse(Array(#"{"type":"subscribe","channel":"projects","events":["insert"],"where":{"hackathon.id":3},"since":120}"#.utf8), authorized: false)
        #expect(ok == .subscribe(Subscription(channel: .projects, events: [.insert], filter: ["hackathon.id": .number(3)], since: 120)))
        #expect(try ClientRequest.parse(Array(#"{"type":"unsubscribe","channel":"users"}"#.utf8), authorized: false) == .unsubscribe(.users))
        for bad in ["nope", "[]", #"{"channel":"users"}"#, #"{"type":"subscribe","channel":"teams"}"#,
                    #"{"type":"subscribe","channel":"users","events":[]}"#, #"{"type":"subscribe","channel":"users","since":1.5}"#,
                    #"{"type":"subscribe","channel":"users","where":{"a":{"b":1}}}"#, #"{"type":"subscribe","channel":"users","extra":1}"#] {
            #expect(throws: ClientRequest.Invalid.self) { try ClientRequest.parse(Array(bad.utf8), authorized: false) }
        }
    }

    @Test func onlyAuthorizedSubscribersFilterOnPrivateFields() throws {
        let request = Array(#"{"type":"subscribe","channel":"users","where":{"email":"a@b"}}"#.utf8)
        #expect(throws: ClientRequest.Invalid.self) { try ClientRequest.parse(request, authorized: false) }
        guard case .subscribe(let subscription) = try ClientRequest.parse(request, authorized: true) else {
            Issue.record("expected a subscription")
            return
        }
        #expect(subscription.filter == ["email": .string("a@b")])
    }

    @Test func anEventIsEncodedOnceAndAnonymousViewsLoseTheEmail() {
        let user = DocumentEvent(seq: 5, ref: DocumentRef(.users, 3), operation: .insert,
                                 data: #"{"id":3,"email":"a@b","username":"ada"}"#, publicData: #"{"id":3,"username":"ada"}"#, at: "2026-01-01T00:00:00Z")
        let encoded = EncodedEvent(user)
        let anonymous = encoded.frame(privateView: false, windowBits: nil)
        #expect(!String(buffer: anonymous).contains("a@b"))
        #expect(String(buffer: encoded.frame(privateView: true, windowBits: nil)).contains("a@b"))
        #expect(encoded.frame(privateView: false, windowBits: nil) == anonymous)
    }
}

import NIOCore
