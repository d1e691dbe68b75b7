import HTTP
import Logging
import NIOCore
import NIOHTTP1
import Realtime
@testable import Server
import Testing

/// The admin router's decisions, without a socket: which route, 404/405,
/// the admin token, and the one mapping of typed errors to statuses.
@Suite struct AdminRouterTests {
    /// Each route answers with its own name and captures, so a test sees which one ran.
    static func named(_ name: String) -> AdminRoute.Handler {
        { request in .json(#"{"route":"\#(name)","id":"\#(request.parameters["id"] ?? "")"}"#) }
    }

    let router = AdminRouter(routes: [
        AdminRoute(.GET, "/", named("root")),
        AdminRoute(.GET, "/api/dlq", named("list")),
        AdminRoute(.GET, "/api/dlq/:id", access: .adminToken, named("show")),
        AdminRoute(.POST, "/api/dlq/:id/retry", access: .adminToken, named("retry")),
        AdminRoute(.POST, "/api/dlq/retry-all", access: .adminToken, named("retry-all")),
        AdminRoute(nil, "/ws", named("ws")),
        AdminRoute(.GET, "/api/fail/:kind") { request in
            switch request.parameters["kind"] {
            case "missing": throw OperationError.notFound("no such thing")
            case "busy": throw OperationError.jobRunning("a reindex of projects is already running (job 3)")
            case "id": _ = try request.id("kind"); return .json("{}")
            default: throw CancellationError()
            }
        },
    ], adminToken: "s3cret", logger: Logger(label: "test"))

    func send(_ method: HTTPMethod, _ uri: String, token: String? = nil) async -> HTTPResponse {
        var headers = HTTPHeaders()
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        return await router.respond(to: HTTPRequest(method: method, uri: uri, headers: headers))
    }

    func body(_ response: HTTPResponse) -> String { String(buffer: response.body) }

    @Test func picksTheRouteAndItsCaptures() async {
        #expect(body(await send(.GET, "/")).contains(#""route":"root""#))
        #expect(body(await send(.GET, "/api/dlq?limit=5")).contains(#""route":"list""#))
        let show = await send(.GET, "/api/dlq/17", token: "s3cret")
        #expect(body(show) == #"{"route":"show","id":"17"}"#)
        #expect(body(await send(.HEAD, "/api/dlq")).contains(#""route":"list""#), "HEAD is answered as GET")
        #expect(body(await send(.PUT, "/ws")).contains(#""route":"ws""#), "a route without a method takes any")
    }

    @Test func aLiteralSegmentWinsOverACapture() async {
        let all = await send(.POST, "/api/dlq/retry-all", token: "s3cret")
        #expect(body(all).contains(#""route":"retry-all""#))
        // GET on the literal path is not "show id=retry-all": the literal route decides, and refuses the method.
        let get = await send(.GET, "/api/dlq/retry-all", token: "s3cret")
        #expect(get.status == .methodNotAllowed)
        #expect(get.headers["Allow"] == ["POST"])
    }

    @Test func unknownPathsAre404AndWrongMethods405WithAllow() async {
        #expect((await send(.GET, "/api/nothing")).status == .notFound)
        #expect((await send(.GET, "/api/dlq/17/retry/again")).status == .notFound)
        let delete = await send(.DELETE, "/api/dlq")
        #expect(delete.status == .methodNotAllowed)
        #expect(delete.headers["Allow"] == ["GET, HEAD"])
        #expect(body(delete).contains(#""status":405"#))
    }

    @Test func tokenRoutesNeedTheAdminToken() async {
        let missing = await send(.POST, "/api/dlq/3/retry")
        #expect(missing.status == .unauthorized)
        #expect(missing.headers["WWW-Authenticate"].first?.hasPrefix("Bearer") == true)
        #expect((await send(.POST, "/api/dlq/3/retry", token: "wrong")).status == .forbidden)
        #expect((await send(.POST, "/api/dlq/3/retry", token: "s3cret")).status == .ok)
        #expect((await send(.GET, "/api/dlq")).status == .ok, "reads stay open")

        let disabled = AdminRouter(routes: router.routes, adminToken: "", logger: Logger(label: "test"))
        let refused = await disabled.respond(to: HTTPRequest(method: .POST, uri: "/api/dlq/3/retry"))
        #expect(refused.status == .forbidden, "with no token configured, admin actions are refused")
        #expect(body(refused).contains("HACKSYNC_ADMIN_TOKEN"))
    }

    @Test func typedErrorsMapToTheirStatusOnce() async {
        let missing = await send(.GET, "/api/fail/missing")
        #expect(missing.status == .notFound)
        #expect(body(missing) == #"{"error":"no such thing","status":404}"#)
        #expect((await send(.GET, "/api/fail/busy")).status == .conflict)
        let badID = await send(.GET, "/api/fail/id")
        #expect(badID.status == .badRequest)
        #expect(body(badID).contains("kind must be a positive integer, got id"))
        #expect((await send(.GET, "/api/fail/other")).status == .serviceUnavailable, "anything else is a failing dependency")
        #expect(OperationError.alreadyResolved("x").status == .conflict)
        #expect(OperationError.jobInterrupted("x").status == .serviceUnavailable)
        #expect(OperationError.invalid("x").status == .badRequest)
    }
}

/// Tokens are compared without an early exit (`constantTimeEquals`): equal
/// strings only, whatever the length or where they first differ.
@Suite struct ConstantTimeTests {
    @Test func onlyEqualTokensMatch() {
        #expect(constantTimeEquals("s3cret-token", "s3cret-token"))
        #expect(!constantTimeEquals("s3cret-token", "s3cret-tokeN"))
        #expect(!constantTimeEquals("s3cret-token", "X3cret-token"))
        #expect(!constantTimeEquals("s3cret-token", "s3cret-token "))
        #expect(!constantTimeEquals("s3cret-token", ""))
        #expect(!constantTimeEquals("", "x"))
    }
}
