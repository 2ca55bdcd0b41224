// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

// EvalVault builds on Linux (Glibc) only: it calls Glibc directly (Files, Passphrase and others).
let package = Package(
    name: "EvalVault",
    products: [
        .executable(name: "evalvault", targets: ["evalvault"]),
        .library(name: "VaultCore", targets: ["VaultCore"]),
        .library(name: "VaultCrypto", targets: ["VaultCrypto"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries: OpenSSL 3 (libssl-dev) and SQLite 3 (libsqlite3-dev), found by pkg-config.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        // The only module that touches OpenSSL.
        .target(name: "VaultCrypto", dependencies: ["COpenSSL"], swiftSettings: strict),
        // Store, keyring, policy engine, sealing, aggregates, audit.
        .target(name: "VaultCore", dependencies: ["VaultCrypto", "CSQLite"], swiftSettings: strict),
        // The command-line tool: thin commands that parse, call VaultCore and print.
        .executableTarget(name: "evalvault", dependencies: [
            "VaultCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),
        // Helpers shared by the test targets: child processes and temporary folders.
        .target(name: "CTestSupport", path: "Tests/CTestSupport"),
        .target(name: "TestSupport", dependencies: ["CTestSupport"], path: "Tests/TestSupport", swiftSettings: strict),
        // Benchmarks (design: Performance), run in release builds by hand; not tests.
        .executableTarget(name: "evalvault-bench", dependencies: [
            "VaultCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),
        .testTarget(name: "VaultCryptoTests", dependencies: ["VaultCrypto"], swiftSettings: strict),
        .testTarget(name: "VaultCoreTests", dependencies: ["VaultCore", "TestSupport"],
                    exclude: ["Policies"], swiftSettings: strict),
        // The CLI, tested as a user runs it: scenario files in testdata/, one harness.
        .testTarget(name: "evalvaultTests", dependencies: ["evalvault", "VaultCore", "TestSupport"],
                    exclude: ["testdata"], swiftSettings: strict),

    ],
    swiftLanguageModes: [.v6]
)
