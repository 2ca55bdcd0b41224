import CFuzz

/// Hands the process to libFuzzer's loop with `callback` as the fuzz function. Each target calls
/// it from the entry point SwiftPM links `main` to (`<Target>_main`).
public func runLibFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, callback)
}
