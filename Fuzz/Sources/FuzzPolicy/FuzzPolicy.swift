@_spi(Fuzzing) import VaultCore
import CFuzz

/// The fuzz callback: any input must be accepted or refused with a VaultError, never crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = try? PolicySet(source: String(decoding: bytes, as: UTF8.self), fileName: "fuzz.policy")
    return 0
}

/// The process entry point (SwiftPM links `main` to `<Target>_main`): run libFuzzer's loop.
@_cdecl("FuzzPolicy_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzz)
}
