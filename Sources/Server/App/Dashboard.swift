import HTTP
import NIOCore
import NIOHTTP1

/// The live dashboard served at `/`: an HTML page, its stylesheet and its
/// script (`Sources/Server/Dashboard/`), embedded in the binary at build time
/// (no build step of their own, nothing from a CDN). The page polls
/// `/api/status`, `/readyz`, `/api/changes` and `/api/dlq`, draws lag and
/// throughput on canvases, sends dead-letter retries and discards with the
/// admin token typed into it (kept in the browser's session storage), and
/// shows every document change live over `/ws`. All data is inserted with
/// `textContent`, never as HTML. Nothing is inline, so the page's
/// Content-Security-Policy allows scripts and styles from this origin only.
enum Dashboard {
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    static var routes: [AdminRoute] {
        let html = asset("text/html; charset=utf-8", PackageResources.dashboard_html)
        return [
            AdminRoute(.GET, "/") { _ in html },
            AdminRoute(.GET, "/dashboard") { _ in html },
            AdminRoute(.GET, "/dashboard.css") { _ in asset("text/css; charset=utf-8", PackageResources.dashboard_css) },
            AdminRoute(.GET, "/dashboard.js") { _ in asset("text/javascript; charset=utf-8", PackageResources.dashboard_js) },
        ]
    }

    static func asset(_ type: String, _ bytes: [UInt8]) -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Cache-Control", value: "no-cache")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        headers.add(name: "Content-Security-Policy", value: contentSecurityPolicy)
        return HTTPResponse(headers: headers, body: ByteBuffer(bytes: bytes))
    }
}
