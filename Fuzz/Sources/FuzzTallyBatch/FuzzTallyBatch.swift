@_spi(Fuzzing) import VaultCore
import FuzzSupport

/// The fuzz callback: a tally batch file read as `import` will read it (docs/tally-format.md,
/// Tally batch) — the strict reading, the signature, every record decoded and its range proof
/// verified. Any input must be accepted or refused with a VaultError; anything else traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    acceptOrVaultError("FuzzTallyBatch") { try FuzzEntry.tallyBatch(bytes) }
    return 0
}

/// The process entry point (SwiftPM links `main` to `<Target>_main`).
@_cdecl("FuzzTallyBatch_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { runLibFuzzer(argc, argv, fuzz) }
