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

    /// The asset served at `path`, if any.
    static func response(for path: String) -> HTTPResponse? {
        let asset: (type: String, bytes: [UInt8])
        switch path {
        case "/", "/dashboard": asset = ("text/html; charset=utf-8", PackageResources.dashboard_html)
        case "/dashboard.css": asset = ("text/css; charset=utf-8", PackageResources.dashboard_css)
        case "/dashboard.js": asset = ("text/javascript; charset=utf-8", PackageResources.dashboard_js)
        default: return nil
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: asset.type)
        headers.add(name: "Cache-Control", value: "no-cache")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        headers.add(name: "Content-Security-Policy", value: contentSecurityPolicy)
        return HTTPResponse(headers: headers, body: ByteBuffer(bytes: asset.bytes))
    }
}
