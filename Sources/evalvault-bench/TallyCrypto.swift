import ArgumentParser
import Foundation
import VaultCrypto

/// Per-core rates of a tally round's cryptography, in this process on one thread: sealing a score
/// with its range proof, and verifying proofs in batches as `import` and the reveal do.
struct TallyCryptoOnce: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tally-crypto", abstract: "Measure tally sealing and proof verification on one core.", shouldDisplay: false)

    @Option(help: "Scores to seal and verify.") var scores = 2_000
    @Option(help: "Largest grid index (0–100 in steps of 0.5 is 200).") var maxIndex = 200

    func run() throws {
        let grid = Tally.Grid(maxIndex: maxIndex)
        let key = Tally.PublicKey(P256.Point.base(.random()))
        let setup = Date()
        _ = Tally.encrypt(index: 0, grid: grid, key: key, context: [])  // tables made here, once per process
        let tables = Date().timeIntervalSince(setup)
        // As a batch file carries them: encoded bytes, decoded again before verification.
        var sealed = [(bytes: [UInt8], context: [UInt8])]()
        sealed.reserveCapacity(scores)
        let t0 = Date()
        for i in 0..<scores {
            let ctx = Tally.context(vault: "bench", round: "T", key: key.point, evaluator: "ev-\(i % 100)", team: "t\(i % 10)", criterion: "c\(i % 7)", grid: grid)
            sealed.append((Tally.encrypt(index: i % (maxIndex + 1), grid: grid, key: key, context: ctx).encoded, ctx))
        }
        let seal = Date().timeIntervalSince(t0)
        let t1 = Date()
        var bad = 0
        for start in stride(from: 0, to: sealed.count, by: Tally.verificationChunk) {
            let items = try sealed[start..<min(start + Tally.verificationChunk, sealed.count)].map {
                Tally.ScoreToVerify(try Tally.EncryptedScore(decoding: $0.bytes, bitCount: grid.bitCount), context: $0.context)
            }
            bad += Tally.verify(items, grid: grid, key: key).count
        }
        let verify = Date().timeIntervalSince(t1)
        guard bad == 0 else { throw ValidationError("\(bad) valid proofs were refused") }
        print(String(format: "result tables %.4f seal %.4f verify %.4f scores %d bytes %d", tables, seal, verify, scores,
                     Tally.EncryptedScore.byteCount(bitCount: grid.bitCount)))
        print(String(format: "tally crypto, one core, %d-value grid: %.0f scores sealed/s, %.0f proofs verified/s (tables %.0f ms)",
                     maxIndex + 1, Double(scores) / seal, Double(scores) / verify, tables * 1000))
    }
}
