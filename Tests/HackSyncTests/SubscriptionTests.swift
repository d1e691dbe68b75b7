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
        let encoded = EncodedEvent(e)
        return s.matches(e, document: { encoded.document }, changedFields: { encoded.changedFields })
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

    @Test func aWaitNamesATransactionAsANumberOrDigitsWithAnOptionalTimeout() throws {
        let parse = { (text: String) throws(ClientRequest.Invalid) in try ClientRequest.parse(Array(text.utf8), authorized: false) }
        #expect(try parse(#"{"type":"wait","xid":7345}"#) == .wait(xid: 7345, timeout: .seconds(2)))
        #expect(try parse(#"{"type":"wait","xid":"18446744073709551615","timeout_ms":250}"#) == .wait(xid: .max, timeout: .milliseconds(250)))
        #expect(try parse(#"{"type":"wait","xid":0,"timeout_ms":30000}"#) == .wait(xid: 0, timeout: .seconds(30)))
        for bad in [#"{"type":"wait"}"#, #"{"type":"wait","xid":-1}"#, #"{"type":"wait","xid":1.5}"#, #"{"type":"wait","xid":1e300}"#,
                    #"{"type":"wait","xid":"12a"}"#, #"{"type":"wait","xid":"１２"}"#, #"{"type":"wait","xid":"18446744073709551616"}"#,
                    #"{"type":"wait","xid":1,"timeout_ms":0}"#, #"{"type":"wait","xid":1,"timeout_ms":30001}"#,
                    #"{"type":"wait","xid":1,"timeout_ms":"2s"}"#, #"{"type":"wait","xid":1,"channel":"users"}"#] {
            #expect(throws: ClientRequest.Invalid.self, "\(bad)") { try parse(bad) }
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

    @Test func aChangedSubscriptionHoldsBackOnlyUpdatesThatChangedNoneOfItsFields() throws {
        let request = Array(#"{"type":"subscribe","channel":"projects","changed":["name","members"]}"#.utf8)
        guard case .subscribe(let names) = try ClientRequest.parse(request, authorized: false) else {
            Issue.record("expected a subscription")
            return
        }
        #expect(names.changed == ["name", "members"])
        func update(changed: String?) -> DocumentEvent {
            DocumentEvent(seq: 1, ref: DocumentRef(.projects, 1), operation: .update, data: project, publicData: nil, changed: changed, at: "")
        }
        #expect(matches(names, update(changed: #"["members","updated_at"]"#)))
        #expect(!matches(names, update(changed: #"["description","updated_at"]"#)))
        #expect(matches(names, update(changed: nil)), "an event that does not say what changed passes")
        #expect(matches(names, event(.projects, .insert, data: project)))
        #expect(matches(names, event(.projects, .delete, data: project)))

        for bad in [#""name""#, "[]", "[1]", #"["hackathon.id"]"#, #"[""]"#] {
            let text = #"{"type":"subscribe","channel":"projects","changed":"# + bad + "}"
            #expect(throws: ClientRequest.Invalid.self, "\(bad)") { try ClientRequest.parse(Array(text.utf8), authorized: false) }
        }
        let email = Array(#"{"type":"subscribe","channel":"users","changed":["email"]}"#.utf8)
        #expect(throws: ClientRequest.Invalid.self) { try ClientRequest.parse(email, authorized: false) }
        #expect(try ClientRequest.parse(email, authorized: true) == .subscribe(Subscription(channel: .users, changed: ["email"])))
    }

    @Test func anEventCarriesWhatChangedAndAnonymousViewsLoseThePrivateParts() {
        let user = DocumentEvent(seq: 6, ref: DocumentRef(.users, 3), operation: .update,
                                 data: #"{"id":3,"email":"b@c","username":"ada"}"#, publicData: #"{"id":3,"username":"ada"}"#,
                                 changed: #"["email","username"]"#, previous: #"{"email":"a@b","username":"eve"}"#,
                                 publicChanged: #"["username"]"#, publicPrevious: #"{"username":"eve"}"#, at: "2026-01-01T00:00:00Z")
        let encoded = EncodedEvent(user)
        let anonymous = String(buffer: encoded.frame(privateView: false, windowBits: nil))
        let authorized = String(buffer: encoded.frame(privateView: true, windowBits: nil))
        #expect(anonymous.contains(#""data":{"id":3,"username":"ada"},"changed":["username"],"previous":{"username":"eve"},"at":"2026-01-01T00:00:00Z"}"#), "\(anonymous)")
        #expect(!anonymous.contains("a@b") && !anonymous.contains("b@c"))
        #expect(authorized.contains(#""changed":["email","username"],"previous":{"email":"a@b","username":"eve"}"#), "\(authorized)")
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
