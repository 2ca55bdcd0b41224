import Foundation

/// The cryptography of tally rounds (design: Tally rounds; docs/tally-format.md is its exact
/// specification, and an independent verifier in Python is written from that document alone).
///
/// A score's grid index m is never encrypted on its own: it is committed bit by bit, and the
/// ciphertext is what the bits add up to, so a proof about the bits is a proof about m.
///
/// - The joint key is K = s·G, with s shared among the holders by a dealer-less ceremony
///   (`Tally.Ceremony`); no process ever holds s.
/// - H is a second generator made by hashing (`Tally.H`), whose logarithm nobody knows.
/// - Bit i of m (weights from `Tally.Grid`) is committed as Cᵢ = bᵢ·H + sᵢ·K, with an OR-proof
///   that bᵢ is 0 or 1. Y = Σ wᵢ·Cᵢ = m·H + S·K with S = Σ wᵢ·sᵢ, and the score carries
///   X = S·G with a proof that X and Y share S. (X, Y) is then an ElGamal ciphertext of m·H
///   under K: Y − s·X = m·H. Why this shape and not one ElGamal pair per bit: the proof of a bit
///   is one equation instead of two, and verifying a score costs 27 points instead of 48.
/// - Cell totals (ΣX, ΣY) are decrypted by k holders' shares sⱼ·ΣX with Chaum–Pedersen proofs,
///   combined by Lagrange interpolation, and Σm found by baby-step giant-step.
public enum Tally {
    /// The second generator: the first x = SHA-256("evalvault/v2 tally H" ‖ counter) (counter
    /// a 4-byte big-endian integer from 0) that is on the curve, with the even y. Nobody knows
    /// its logarithm to G, which is what makes the bit commitments binding even for the holders.
    public static let H: P256.Point = {
        for counter in UInt32(0)... {
            let x = SHA256.hash(data: Array("evalvault/v2 tally H".utf8) + counter.bigEndianBytes)
            if let p = try? P256.Point(encoded: [0x02] + x) { return p }
        }
        fatalError("unreachable")
    }()

    /// H's fixed-base table, made on first use.
    public static let hTable = P256.FixedBase(H)

    /// Hash to a scalar: d = SHA-256(label length (2 bytes) ‖ label ‖ data), then the 64 bytes
    /// SHA-256(d ‖ 0x01) ‖ SHA-256(d ‖ 0x02) reduced mod n (bias below 2⁻²⁵⁶).
    public static func hashToScalar(_ label: String, _ data: [UInt8]) -> P256.Scalar {
        hashToScalar(label) { $0.update(data: data) }
    }

    /// The same, with the data fed to the hasher by `feed` (so a secret seed is hashed where it
    /// lies, never copied into an array that outlives the call).
    static func hashToScalar(_ label: String, feed: (inout SHA256.Hasher) -> Void) -> P256.Scalar {
        let l = Array(label.utf8)
        var hasher = SHA256.Hasher()
        hasher.update(data: UInt16(l.count).bigEndianBytes + l)
        feed(&hasher)
        let d = hasher.finalize()
        return .reducing(SHA256.hash(data: d + [1]) + SHA256.hash(data: d + [2]))
    }

    /// The grid of a criterion as bits: indices 0…maxIndex, weights 1, 2, …, 2^(k−2) and a last
    /// weight maxIndex − (2^(k−1) − 1), so that the reachable sums are exactly 0…maxIndex.
    public struct Grid: Sendable, Equatable {
        public let maxIndex: Int
        public let weights: [UInt64]

        /// maxIndex ≥ 1 (a criterion with one possible value has nothing to hide).
        public init(maxIndex: Int) {
            precondition(maxIndex >= 1 && maxIndex < 1 << 30)
            self.maxIndex = maxIndex
            let k = Int.bitWidth - maxIndex.leadingZeroBitCount
            weights = (0..<(k - 1)).map { UInt64(1) << UInt64($0) } + [UInt64(maxIndex - ((1 << (k - 1)) - 1))]
        }

        public var bitCount: Int { weights.count }

        /// The bits of m under these weights (the last bit first, then binary).
        func bits(of m: Int) -> [Bool] {
            precondition((0...maxIndex).contains(m))
            let k = bitCount, last = Int(weights[k - 1])
            let top = m > (1 << (k - 1)) - 1
            let rest = top ? m - last : m
            return (0..<(k - 1)).map { rest >> $0 & 1 == 1 } + [top]
        }
    }

    /// What a proof is bound to: SHA-256 over the length-prefixed fields (vault, round, joint
    /// key, evaluator, team, criterion, grid size), so a ciphertext cannot be moved to another
    /// place, evaluator, round or vault.
    public static func context(vault: String, round: String, key: P256.Point, evaluator: String,
                               team: String, criterion: String, grid: Grid) -> [UInt8] {
        var d = Array("evalvault/v2 tally score".utf8)
        for field in [vault, round] { d += lengthPrefixed(Array(field.utf8)) }
        d += key.encoded(compressed: false)
        for field in [evaluator, team, criterion] { d += lengthPrefixed(Array(field.utf8)) }
        d += UInt32(grid.maxIndex).bigEndianBytes
        return SHA256.hash(data: d)
    }

    static func lengthPrefixed(_ b: [UInt8]) -> [UInt8] { UInt16(b.count).bigEndianBytes + b }
}

extension FixedWidthInteger {
    /// The integer's bytes, most significant first (the `u16`, `u32`, `u64` of the file formats).
    public var bigEndianBytes: [UInt8] { withUnsafeBytes(of: self.bigEndian) { Array($0) } }
}
