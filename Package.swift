// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "hacksync",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hacksync", targets: ["hacksync"]),
        .executable(name: "wsecho", targets: ["wsecho"]),
        .executable(name: "hacksync-watch", targets: ["hacksync-watch"]),
        // What faces untrusted bytes (frames, handshakes, UTF-8, inflate, the
        // subscription requests, the HTTP head's screening), for fuzz/.
        .library(name: "HackSyncParsers", targets: ["WebSocket", "Model", "HTTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The shared vocabulary: documents, events, JSON values and the wire
        // messages of the live stream. The client, the hub and the server use
        // it without pulling in the engine.
        .target(name: "Model"),
        // Reading a paginated, rate-limited source: its pages, its pacing,
        // its records and timestamps (decisions only; the importer is in Server).
        .target(name: "Import", dependencies: ["Model", "Sync"]),
        // The level-triggered wake-up the sync engine sleeps on between scans.
        .target(name: "AsyncWakeup"),
        .target(
            name: "WebSocket",
            dependencies: [
                "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The HTTP/1.1 server and the WebSocket upgrade: what the admin API,
        // the live stream and wsecho are served by.
        .target(
            name: "HTTP",
            dependencies: [
                "Model", "WebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Realtime",
            dependencies: [
                "Model", "WebSocket", "Sync",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ",
                "Model",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Search",
            dependencies: [
                "Model",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Sync",
            dependencies: [
                "AsyncWakeup", "Model",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Server",
            dependencies: [
                "AsyncWakeup", "HTTP", "Import", "Model", "Postgres", "Search", "Sync", "Realtime", "WebSocket",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [
                .embedInCode("Dashboard/dashboard.html"),
                .embedInCode("Dashboard/dashboard.css"),
                .embedInCode("Dashboard/dashboard.js"),
            ]
        ),
        .executableTarget(
            name: "hacksync",
            dependencies: [
                "HTTP", "Import", "Model", "Postgres", "Server",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "hacksync-watch",
            dependencies: [
                "Model", "WebSocket",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "clients/hacksync-watch"
        ),
        .executableTarget(
            name: "wsecho",
            dependencies: [
                "HTTP", "WebSocket",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "hacksync-bench",
            dependencies: [
                "Postgres", "Search", "WebSocket",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "HackSyncTests",
            dependencies: ["AsyncWakeup", "HTTP", "Import", "Model", "Sync", "Search", "Postgres", "Server", "Realtime", "WebSocket",
                           .product(name: "NIOEmbedded", package: "swift-nio")]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["AsyncWakeup", "HTTP", "Import", "Model", "Sync", "Search", "Postgres", "Server", "Realtime", "WebSocket"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
