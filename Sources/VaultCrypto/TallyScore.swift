import COpenSSL
import Foundation

extension Tally {
    /// A round's joint public key K = s·G, with its fixed-base table made on first use.
    public final class PublicKey: @unchecked Sendable {
        // @unchecked: immutable after init; the lazy table is made under a lock.
        public let point: P256.Point
        private let lock = NSLock()
        private var cachedTable: P256.FixedBase?

        public init(_ point: P256.Point) { self.point = point }

        /// The fixed-base table (~40 ms to make): worth it from a few dozen multiplications on.
        var table: P256.FixedBase {
            lock.lock(); defer { lock.unlock() }
            if let t = cachedTable { return t }
            let t = P256.FixedBase(point)
            cachedTable = t
            return t
        }
    }

    /// The proof that one committed bit is 0 or 1 (a Cramer–Damgård–Schoenmakers OR of two
    /// Schnorr proofs over K): v₀·K = A₀ + c₀·C and v₁·K = A₁ + c₁·(C − H), with c₀ + c₁ = e.
    public struct BitProof: Sendable, Equatable {
        public let commitment: P256.Point
        public let a0: P256.Point
        public let a1: P256.Point
        public let c0: P256.Scalar
        public let v0: P256.Scalar
        public let v1: P256.Scalar
    }

    /// An encrypted score with its proof that it lies on the grid (docs/tally-format.md):
    /// X = S·G, the bit commitments with their OR-proofs, and the proof (T₁, T₂, z_S, z_m) that
    /// X and Y = Σ wᵢ·Cᵢ share S: z_S·G = T₁ + e·X and z_m·H + z_S·K = T₂ + e·Y.
    public struct EncryptedScore: Sendable, Equatable {
        public let x: P256.Point
        public let bits: [BitProof]
        public let t1: P256.Point
        public let t2: P256.Point
        public let zS: P256.Scalar
        public let zM: P256.Scalar

        /// Y = Σ wᵢ·Cᵢ, the ciphertext's second half (not stored: it follows from the bits).
        public func y(grid: Grid) -> P256.Point {
            P256.multiScalarMultiply(bits.map(\.commitment), grid.weights.map { P256.Scalar($0) })
        }

        /// The encoding: every point first — X ‖ (Cᵢ ‖ A₀ ‖ A₁ for each bit) ‖ T₁ ‖ T₂ — then every
        /// scalar — (c₀ ‖ v₀ ‖ v₁ for each bit) ‖ z_S ‖ z_m. Points are uncompressed (decoding a
        /// compressed point costs a square root, 20× an uncompressed one's curve check).
        public let encoded: [UInt8]

        /// The length of the points part, which is what the challenge hashes.
        static func pointsByteCount(bitCount: Int) -> Int { 65 * (3 + 3 * bitCount) }

        /// The encoded size for a grid of `bitCount` bits.
        public static func byteCount(bitCount: Int) -> Int { pointsByteCount(bitCount: bitCount) + 32 * (3 * bitCount + 2) }

        static func encodePoints(x: P256.Point, bits: [(P256.Point, P256.Point, P256.Point)], t1: P256.Point, t2: P256.Point) -> [UInt8] {
            var out = [UInt8]()
            out.reserveCapacity(byteCount(bitCount: bits.count))
            out += x.encoded(compressed: false)
            for (c, a0, a1) in bits { out += c.encoded(compressed: false) + a0.encoded(compressed: false) + a1.encoded(compressed: false) }
            out += t1.encoded(compressed: false) + t2.encoded(compressed: false)
            return out
        }

        /// The challenge e = hashToScalar("evalvault/v2 tally score proof", context ‖ points part).
        static func challenge(context: [UInt8], points: ArraySlice<UInt8>) -> P256.Scalar {
            Tally.hashToScalar("evalvault/v2 tally score proof") { h in
                h.update(data: context)
                points.withUnsafeBytes { h.update(data: $0) }
            }
        }

        func challenge(context: [UInt8]) -> P256.Scalar {
            Self.challenge(context: context, points: encoded[0..<Self.pointsByteCount(bitCount: bits.count)])
        }

        /// Decodes exactly `byteCount(bitCount:)` bytes; every point must be on the curve and not
        /// the identity, every scalar below n.
        public init(decoding bytes: some Collection<UInt8>, bitCount: Int) throws {
            let b = Array(bytes)
            guard b.count == Self.byteCount(bitCount: bitCount) else {
                throw CryptoError.invalidParameter("an encrypted score has the wrong length")
            }
            var at = 0
            func point() throws -> P256.Point { defer { at += 65 }; return try P256.Point(uncompressed: Array(b[at..<at + 65])) }
            func scalar() throws -> P256.Scalar {
                defer { at += 32 }
                guard let s = P256.Scalar(rawRepresentation: Array(b[at..<at + 32])) else {
                    throw CryptoError.invalidParameter("a proof scalar is not below the group order")
                }
                return s
            }
            x = try point()
            var triples = [(P256.Point, P256.Point, P256.Point)]()
            for _ in 0..<bitCount { triples.append((try point(), try point(), try point())) }
            t1 = try point(); t2 = try point()
            var bits = [BitProof]()
            for (c, a0, a1) in triples {
                bits.append(BitProof(commitment: c, a0: a0, a1: a1, c0: try scalar(), v0: try scalar(), v1: try scalar()))
            }
            self.bits = bits
            zS = try scalar(); zM = try scalar()
            encoded = b
        }

        init(pointBytes: [UInt8], x: P256.Point, bits: [BitProof], t1: P256.Point, t2: P256.Point, zS: P256.Scalar, zM: P256.Scalar) {
            self.x = x; self.bits = bits; self.t1 = t1; self.t2 = t2; self.zS = zS; self.zM = zM
            var out = pointBytes
            for b in bits { out += b.c0.rawRepresentation + b.v0.rawRepresentation + b.v1.rawRepresentation }
            encoded = out + zS.rawRepresentation + zM.rawRepresentation
        }

        public static func == (a: EncryptedScore, b: EncryptedScore) -> Bool { a.encoded == b.encoded }
    }

    /// Encrypts grid index `index` under `key` with its proof bound to `context`
    /// (`Tally.context`). Every secret (sᵢ, S, the proof's nonces, the index) is multiplied
    /// only through OpenSSL's constant-time paths and the shim's Montgomery multiplication.
    public static func encrypt(index: Int, grid: Grid, key: PublicKey, context: [UInt8], useTables: Bool = true) -> EncryptedScore {
        let k: (P256.Scalar) -> P256.Point = useTables ? { key.table.multiply($0) } : { key.point.multiplied(by: $0) }
        let h: (P256.Scalar) -> P256.Point = useTables ? { hTable.multiply($0) } : { H.multiplied(by: $0) }
        let bitValues = grid.bits(of: index)
        var s = [P256.Scalar](), nonces = [P256.Scalar](), simulated = [(c: P256.Scalar, v: P256.Scalar)]()
        var commitments = [P256.Point](), a0 = [P256.Point](), a1 = [P256.Point]()
        var total = P256.Scalar.zero
        for (i, bit) in bitValues.enumerated() {
            let si = P256.Scalar.random(), t = P256.Scalar.random(), c = P256.Scalar.random(), v = P256.Scalar.random()
            let c_ = k(si)
            commitments.append(bit ? c_ + H : c_)
            // The simulated branch j = 1 − b: A_j = v·K − c·(C − j·H) = (v − c·sᵢ)·K − c·(b − j)·H.
            let simA = k(P256.Scalar.multiplyAdd(c, P256.Scalar.minusOne * si, v)) + (bit ? -h(c) : h(c))
            let realA = k(t)
            a0.append(bit ? simA : realA)
            a1.append(bit ? realA : simA)
            s.append(si); nonces.append(t); simulated.append((c, v))
            total = P256.Scalar.multiplyAdd(P256.Scalar(grid.weights[i]), si, total)
        }
        let a = P256.Scalar.random(), bNonce = P256.Scalar.random()
        let x = P256.Point.base(total)
        let t1 = P256.Point.base(a), t2 = h(bNonce) + k(a)
        P256.normalize([x, t1, t2] + commitments + a0 + a1)
        let pointBytes = EncryptedScore.encodePoints(x: x, bits: (0..<commitments.count).map { (commitments[$0], a0[$0], a1[$0]) }, t1: t1, t2: t2)
        let e = EncryptedScore.challenge(context: context, points: pointBytes[...])
        var bits = [BitProof]()
        for (i, bit) in bitValues.enumerated() {
            let sim = simulated[i]
            let cReal = e - sim.c
            let vReal = P256.Scalar.multiplyAdd(cReal, s[i], nonces[i])
            bits.append(BitProof(commitment: commitments[i], a0: a0[i], a1: a1[i],
                                 c0: bit ? sim.c : cReal, v0: bit ? sim.v : vReal, v1: bit ? vReal : sim.v))
        }
        return EncryptedScore(pointBytes: pointBytes, x: x, bits: bits, t1: t1, t2: t2,
                              zS: P256.Scalar.multiplyAdd(e, total, a),
                              zM: P256.Scalar.multiplyAdd(e, P256.Scalar(UInt64(index)), bNonce))
    }

    /// A score to verify and the context its proof must be bound to.
    public struct ScoreToVerify: Sendable {
        public let score: EncryptedScore
        public let context: [UInt8]
        public init(_ score: EncryptedScore, context: [UInt8]) { self.score = score; self.context = context }
    }

    /// Checks one score's proof equation by equation (slow: for naming a bad score after a batch
    /// failed, and as the reference the batch check is tested against).
    public static func verifyOne(_ item: ScoreToVerify, grid: Grid, key: PublicKey) -> Bool {
        let p = item.score
        guard p.bits.count == grid.bitCount else { return false }
        let e = p.challenge(context: item.context), kp = key.point
        for b in p.bits {
            let c1 = e - b.c0
            guard kp.multiplied(by: b.v0) == b.a0 + b.commitment.multiplied(by: b.c0),
                  kp.multiplied(by: b.v1) == b.a1 + (b.commitment - H).multiplied(by: c1) else { return false }
        }
        let y = p.y(grid: grid)
        return P256.Point.base(p.zS) == p.t1 + p.x.multiplied(by: e)
            && H.multiplied(by: p.zM) + kp.multiplied(by: p.zS) == p.t2 + y.multiplied(by: e)
    }

    /// How many scores to verify in one call: large enough that the multi-scalar
    /// multiplication's fixed cost is spread thin (2,048 or 8,192 verify as fast), small enough
    /// that a chunk's points and the multiplication's working memory stay near 100 MB (measured:
    /// `evalvault-bench tally-crypto` peaks 115 MB above its baseline with 4,096 scores).
    public static let verificationChunk = 4_096

    /// Verifies many scores at once (`batchHolds`); if the batch fails, finds the scores whose
    /// proofs fail one by one. Returns their indices; empty if all hold.
    public static func verify(_ items: [ScoreToVerify], grid: Grid, key: PublicKey) -> [Int] {
        guard !items.isEmpty, !batchHolds(items, grid: grid, key: key) else { return [] }
        return items.indices.filter { !verifyOne(items[$0], grid: grid, key: key) }
    }

    /// Every equation of every proof, each multiplied by its own random 128-bit weight, summed
    /// into one multi-scalar multiplication that must give the identity. A false proof passes
    /// with probability at most 2⁻¹²⁸. False if any proof fails (or has the wrong number of bits).
    static func batchHolds(_ items: [ScoreToVerify], grid: Grid, key: PublicKey) -> Bool {
        if items.contains(where: { $0.score.bits.count != grid.bitCount }) { return false }
        let bitCount = grid.bitCount, pointsPerScore = 3 * bitCount + 3, weightBytes = 16 * (2 * bitCount + 2)
        let scalarsAt = EncryptedScore.pointsByteCount(bitCount: bitCount)
        // Public once drawn: only the prover must not know them in advance.
        let randomness = SecureRandom.bytes(count: weightBytes * items.count)
        let total = items.count * pointsPerScore + 3
        var points = [P256.Point](), coordinates = [UInt8]()
        var scalars = [UInt8](repeating: 0, count: 32 * total)
        points.reserveCapacity(total)
        coordinates.reserveCapacity(64 * total)
        let sumG = BigNumber(), sumH = BigNumber(), sumK = BigNumber()
        for (index, item) in items.enumerated() {
            let p = item.score
            let e = p.challenge(context: item.context)
            // The points in the order the shim writes their scalars, each with its x ‖ y straight
            // from the encoding it was decoded (and checked) from: a score's points and its
            // encoding are one value (each initialiser makes one from the other, and both are let).
            func add(_ point: P256.Point, encodedAt at: Int) {
                points.append(point)
                coordinates += p.encoded[65 * at + 1 ..< 65 * at + 65]
            }
            for (i, b) in p.bits.enumerated() {
                add(b.a0, encodedAt: 2 + 3 * i); add(b.a1, encodedAt: 3 + 3 * i); add(b.commitment, encodedAt: 1 + 3 * i)
            }
            add(p.t1, encodedAt: 1 + 3 * bitCount); add(p.t2, encodedAt: 2 + 3 * bitCount); add(p.x, encodedAt: 0)
            let ok = scalars.withUnsafeMutableBufferPointer { out in
                p.encoded.withUnsafeBufferPointer { encoded in
                    randomness.withUnsafeBufferPointer { random in
                        grid.weights.withUnsafeBufferPointer { weights in
                            evalvault_tally_batch_terms(out.baseAddress! + 32 * pointsPerScore * index,
                                                        sumG.pointer, sumH.pointer, sumK.pointer, e.rawRepresentation,
                                                        encoded.baseAddress! + scalarsAt, weights.baseAddress, bitCount,
                                                        random.baseAddress! + weightBytes * index)
                        }
                    }
                }
            }
            BigNumber.check(ok, "evalvault_tally_batch_terms")
        }
        // Σ (right-hand sides) − Σ (left-hand sides) = identity.
        for (i, (base, sum)) in [(P256.Point.generator, sumG), (H, sumH), (key.point, sumK)].enumerated() {
            points.append(base)
            coordinates += base.encoded(compressed: false).dropFirst()
            let at = 32 * (items.count * pointsPerScore + i)
            scalars.replaceSubrange(at..<at + 32, with: sum.negatedModOrder)
        }
        // Nil only if the shim's arithmetic went wrong: then the caller checks one by one.
        return P256.multiScalarMultiply(points, scalarBytes: scalars, coordinates: coordinates)?.isIdentity == true
    }
}
