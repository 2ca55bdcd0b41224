import CFuzz
import VaultCore

/// Hands the process to libFuzzer's loop with `callback` as the fuzz function. Each target calls
/// it from the entry point SwiftPM links `main` to (`<Target>_main`).
public func runLibFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, callback)
}

/// Runs one input through `body`, which must accept it or refuse it with a VaultError: the error
/// every command turns into an exit status and one sentence. Any other error escaping a parser
/// would reach the user as a Swift error dump (or, for a CryptoError, an "internal error"), so it
/// traps like a crash, and libFuzzer keeps the input.
public func acceptOrVaultError(_ target: StaticString, _ body: () throws -> Void) {
    do {
        try body()
    } catch is VaultError {
    } catch {
        fatalError("\(target): an error that is not a VaultError escaped: \(type(of: error)): \(error)")
    }
}
