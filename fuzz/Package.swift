// swift-tools-version:6.0
// The fuzz targets, a package of their own so the product build never sees
// them: built with libFuzzer and AddressSanitizer by scripts/fuzz.sh
// (`make fuzz`, and a smoke run in `make test`).
import PackageDescription

let package = Package(
    name: "hacksync-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "hacksync", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(name: "CFuzzDriver"),
        .executableTarget(
            name: "hacksync-fuzz",
            dependencies: [
                "CFuzzDriver",
                .product(name: "HackSyncParsers", package: "hacksync"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
