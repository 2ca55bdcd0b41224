@_spi(Fuzzing) import VaultCore
import FuzzSupport

/// The rounds of the committed test vectors (Tests/Vectors/batch/small.json and large.json):
/// their published private keys, grids (steps per criterion, in the round's order) and the
/// evaluator's public key, so that the seeds decrypt and their mutations reach the record
/// checks. Test keys only: they are in the repository for anyone to read.
let rounds: [FuzzEntry.BatchRound] = {
    func hex(_ s: String) -> [UInt8] { Hex.decode(s)! }
    let vault = "5ca1ab1e0ddba11c0ffeeb0a710ad5ed"
    let evaluators = ["ev-1": hex("b34b5a8ed16af02bc887323d215a1e31e48853d5956f8e4c8f5670cc80cb16b1")]
    return [
        FuzzEntry.BatchRound(vault: vault, round: "finals-2026", privateKey: hex("c32fd841c054e870671772d140fbf6bda2e103304cab4c4a48f4a6a66d3df579"),
                             teams: 2, stepCounts: [200, 16], evaluators: evaluators),
        FuzzEntry.BatchRound(vault: vault, round: "semis-2026", privateKey: hex("9ebc2151bfcca32f82297ea5bd6eb2bbcb4efe5f885006427a5a74b63cecbe36"),
                             teams: 100, stepCounts: [10, 50, 16, 1000, 12, 18, 80, 100, 99, 14, 60, 190, 5, 210, 24, 100, 25, 8, 400, 120, 9, 40, 40, 990, 7,
                                                      30, 76, 50, 105, 12, 40, 250, 4, 200, 48, 90, 20, 20, 396, 70, 15, 38, 20, 1050, 6, 20, 100, 40, 100, 24],
                             evaluators: evaluators),
    ]
}()

/// The fuzz callback: any input must be accepted or refused with a VaultError; anything else traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    acceptOrVaultError("FuzzBatchFile") { try FuzzEntry.batchFile(bytes, rounds: rounds) }
    return 0
}

/// The process entry point (SwiftPM links `main` to `<Target>_main`).
@_cdecl("FuzzBatchFile_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { runLibFuzzer(argc, argv, fuzz) }
