import Model
import Sync
import Testing

@Suite struct SettlementTests {
    let user = DocumentRef(.users, 1)
    let project = DocumentRef(.projects, 2)
    let gone = DocumentRef(.hackathons, 3)

    var batch: DocumentBatch {
        DocumentBatch(version: 7, documents: [
            DocumentState(ref: user, json: #"{"id":1}"#),
            DocumentState(ref: project, json: #"{"id":2}"#),
            DocumentState(ref: gone, json: nil),
        ])
    }

    @Test func appliedAndSupersededDocumentsSettleTheBatch() {
        let settlement = Settlement(batch: batch, outcomes: [user: .applied, project: .superseded, gone: .applied])
        #expect(!settlement.needsRetry)
        #expect(settlement.applied.map(\.ref) == [user, project, gone])
        #expect(settlement.rejected.isEmpty)
    }

    @Test func aRejectedDocumentIsParkedAndTheRestStillSettles() {
        let settlement = Settlement(batch: batch, outcomes: [
            user: .applied, project: .rejected(type: "mapper_parsing_exception", reason: "bad date"), gone: .applied,
        ])
        #expect(!settlement.needsRetry)
        #expect(settlement.rejected == [RejectedDocument(ref: project, json: #"{"id":2}"#, errorType: "mapper_parsing_exception", reason: "bad date")])
        #expect(settlement.applied.map(\.ref) == [user, gone])
    }

    @Test func anyRetryableItemKeepsTheWholeBatchPending() {
        let settlement = Settlement(batch: batch, outcomes: [user: .applied, project: .retry(reason: "503"), gone: .applied])
        #expect(settlement.needsRetry)
        #expect(settlement.retryReasons.count == 1)
        #expect(!settlement.overloaded)
    }

    @Test func aTooManyRequestsItemMarksTheBatchOverloaded() {
        let settlement = Settlement(batch: batch, outcomes: [
            user: .retry(reason: "503"), project: .retry(reason: "429", overloaded: true), gone: .applied,
        ])
        #expect(settlement.needsRetry)
        #expect(settlement.overloaded)
    }

    @Test func aDocumentWithoutAnAnswerIsRetriedNotDropped() {
        let settlement = Settlement(batch: batch, outcomes: [user: .applied, gone: .applied])
        #expect(settlement.needsRetry)
        #expect(settlement.retryReasons.first?.contains("projects/2") == true)
    }
}
