import VaultCore
import FuzzSupport

/// The fuzz callback: any input must be accepted or refused with a VaultError, never crash; any
/// other error type is a finding too. An accepted file's decimals must print back to themselves.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        let config = try RoundFile.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.toml")
        for c in config.criteria {
            for value in [c.weight, c.min, c.max, c.step] where Fixed(value.description) != value {
                fatalError("\(value.micros) micros does not print back exactly: \(value)")
            }
        }
    } catch is VaultError {
    } catch {
        fatalError("round file refused with an error that is not a VaultError: \(type(of: error)): \(error)")
    }
    return 0
}

/// The process entry point (SwiftPM links `main` to `<Target>_main`).
@_cdecl("FuzzRoundFile_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { runLibFuzzer(argc, argv, fuzz) }
