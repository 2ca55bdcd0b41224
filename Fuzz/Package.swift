// swift-tools-version:6.0
// Fuzz targets for EvalVault's parsers (libFuzzer). Built only by Fuzz/run.sh, with
// -sanitize=fuzzer,address. Each target defines the fuzz callback and the entry point SwiftPM
// expects (<Target>_main), which hands control to libFuzzer's LLVMFuzzerRunDriver. They live
// in their own package so the main build never compiles them without libFuzzer.
import PackageDescription

let targets = ["FuzzPolicy", "FuzzRoundFile", "FuzzCSV", "FuzzKeyFile", "FuzzAuditExport", "FuzzBatchFile", "FuzzTallyBatch"]

let package = Package(
    name: "EvalVaultFuzz",
    dependencies: [.package(name: "EvalVault", path: "..")],
    targets: [
        .target(name: "CFuzz"),
        .target(name: "FuzzSupport", dependencies: ["CFuzz", .product(name: "VaultCore", package: "EvalVault")]),
    ] + targets.map {
        .executableTarget(name: $0, dependencies: ["FuzzSupport", .product(name: "VaultCore", package: "EvalVault")],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])])
    },
    swiftLanguageModes: [.v6]
)
