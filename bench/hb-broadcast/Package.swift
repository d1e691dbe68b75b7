// swift-tools-version:6.2
// A small broadcast and echo server on Hummingbird 2 + HummingbirdWebSocket,
// for the side-by-side benchmarks only (`scripts/bench-realtime.sh` with
// PEER=hummingbird). Not part of the product build.
import PackageDescription

let package = Package(
    name: "hb-broadcast",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
    ],
    targets: [
        .executableTarget(
            name: "hb-broadcast",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSCompression", package: "hummingbird-websocket"),
            ]),
    ]
)
