import Foundation

extension Tally {
    /// A Schnorr proof of knowledge of a such that F = a·G: R = u·G, z = u + e·a, with e bound to
    /// the holder's context and the coefficient's position.
    public struct SchnorrProof: Sendable, Equatable {
        public let r: P256.Point
        public let z: P256.Scalar
        public init(r: P256.Point, z: P256.Scalar) { self.r = r; self.z = z }
    }

    /// The dealer-less key ceremony (Pedersen's distributed key generation with Feldman
    /// commitments, as ElectionGuard's guardians run it). Holder j (1-based, in the round's
    /// order) picks a secret polynomial fⱼ of degree k − 1, publishes Fⱼ,ₜ = aⱼ,ₜ·G with a proof
    /// of knowledge of each aⱼ,ₜ, and sends fⱼ(i) to holder i encrypted; holder i checks
    /// fⱼ(i)·G = Σₜ iᵗ·Fⱼ,ₜ. Holder i's key share is sᵢ = Σⱼ fⱼ(i); the joint key is
    /// K = Σⱼ Fⱼ,₀ = s·G with s = Σⱼ fⱼ(0), which no one ever computes.
    public enum Ceremony {
        /// A holder's polynomial, derived from a secret seed (so that the holder can re-derive it
        /// at every step without storing it): aₜ = hashToScalar("evalvault/v2 ceremony
        /// coefficient", seed ‖ t).
        public static func polynomial(seed: SecureBytes, threshold: Int) -> [P256.Scalar] {
            (0..<threshold).map { t in
                hashToScalar("evalvault/v2 ceremony coefficient") { hasher in
                    seed.withUnsafeBytes { hasher.update(data: $0) }
                    hasher.update(data: UInt32(t).bigEndianBytes)
                }
            }
        }

        /// What a holder's proofs are bound to: vault, round, the holders in order, k, and the
        /// holder's own index.
        public static func context(vault: String, round: String, holders: [String], threshold: Int, index: Int) -> [UInt8] {
            var d = Array("evalvault/v2 ceremony".utf8)
            for field in [vault, round] { d += lengthPrefixed(Array(field.utf8)) }
            d += UInt32(holders.count).bigEndianBytes
            for h in holders { d += lengthPrefixed(Array(h.utf8)) }
            d += UInt32(threshold).bigEndianBytes + UInt32(index).bigEndianBytes
            return SHA256.hash(data: d)
        }

        /// The commitments Fₜ = aₜ·G and a proof of knowledge of each aₜ.
        public static func commit(polynomial: [P256.Scalar], context: [UInt8]) -> (coefficients: [P256.Point], proofs: [SchnorrProof]) {
            var points = [P256.Point](), proofs = [SchnorrProof]()
            for (t, a) in polynomial.enumerated() {
                let f = P256.Point.base(a), u = P256.Scalar.random(), r = P256.Point.base(u)
                let e = proofChallenge(context: context, position: t, commitment: f, r: r)
                points.append(f)
                proofs.append(SchnorrProof(r: r, z: P256.Scalar.multiplyAdd(e, a, u)))
            }
            return (points, proofs)
        }

        static func proofChallenge(context: [UInt8], position: Int, commitment: P256.Point, r: P256.Point) -> P256.Scalar {
            hashToScalar("evalvault/v2 ceremony coefficient proof",
                         context + UInt32(position).bigEndianBytes + commitment.encoded(compressed: false) + r.encoded(compressed: false))
        }

        /// Every proof of knowledge holds: z·G = R + e·Fₜ.
        public static func verifyCommitments(_ coefficients: [P256.Point], proofs: [SchnorrProof], context: [UInt8]) -> Bool {
            guard coefficients.count == proofs.count, !coefficients.isEmpty else { return false }
            for (t, (f, p)) in zip(coefficients, proofs).enumerated() {
                let e = proofChallenge(context: context, position: t, commitment: f, r: p.r)
                guard P256.Point.base(p.z) == p.r + f.multiplied(by: e) else { return false }
            }
            return true
        }

        /// f(index).
        public static func share(polynomial: [P256.Scalar], for index: Int) -> P256.Scalar {
            let x = P256.Scalar(UInt64(index))
            return polynomial.reversed().reduce(P256.Scalar.zero) { P256.Scalar.multiplyAdd($0, x, $1) }
        }

        /// Σₜ indexᵗ·Fₜ: what f(index)·G must be.
        public static func evaluate(_ coefficients: [P256.Point], at index: Int) -> P256.Point {
            var powers = [P256.Scalar.one]
            for _ in 1..<max(coefficients.count, 1) { powers.append(powers.last! * P256.Scalar(UInt64(index))) }
            return P256.multiScalarMultiply(coefficients, Array(powers.prefix(coefficients.count)))
        }

        /// A share received from another holder agrees with that holder's commitments.
        public static func verifyShare(_ share: P256.Scalar, index: Int, coefficients: [P256.Point]) -> Bool {
            P256.Point.base(share) == evaluate(coefficients, at: index)
        }

        /// Holder `index`'s public key share Kᵢ = sᵢ·G = Σⱼ Σₜ indexᵗ·Fⱼ,ₜ.
        public static func publicShare(index: Int, commitments: [[P256.Point]]) -> P256.Point {
            commitments.dropFirst().reduce(evaluate(commitments[0], at: index)) { $0 + evaluate($1, at: index) }
        }

        /// K = Σⱼ Fⱼ,₀.
        public static func jointKey(commitments: [[P256.Point]]) -> P256.Point {
            commitments.dropFirst().reduce(commitments[0][0]) { $0 + $1[0] }
        }
    }

    /// One holder's share of the decryption of a cell total X: D = sⱼ·X, with a Chaum–Pedersen
    /// proof that log_G Kⱼ = log_X D (a = u·G, b = u·X, z = u + e·sⱼ), so a wrong share is caught
    /// and its holder named before anything is combined.
    public struct PartialDecryption: Sendable, Equatable {
        public let share: P256.Point
        public let a: P256.Point
        public let b: P256.Point
        public let z: P256.Scalar
        public init(share: P256.Point, a: P256.Point, b: P256.Point, z: P256.Scalar) {
            self.share = share; self.a = a; self.b = b; self.z = z
        }

        static func challenge(context: [UInt8], publicShare: P256.Point, x: P256.Point, share: P256.Point,
                              a: P256.Point, b: P256.Point) -> P256.Scalar {
            hashToScalar("evalvault/v2 partial decryption",
                         context + [publicShare, x, share, a, b].flatMap { $0.encoded(compressed: false) })
        }

        public init(x: P256.Point, secretShare: P256.Scalar, publicShare: P256.Point, context: [UInt8]) {
            let u = P256.Scalar.random()
            let d = x.multiplied(by: secretShare), a = P256.Point.base(u), b = x.multiplied(by: u)
            let e = Self.challenge(context: context, publicShare: publicShare, x: x, share: d, a: a, b: b)
            self.init(share: d, a: a, b: b, z: P256.Scalar.multiplyAdd(e, secretShare, u))
        }

        /// z·G = a + e·Kⱼ and z·X = b + e·D.
        public func verify(x: P256.Point, publicShare: P256.Point, context: [UInt8]) -> Bool {
            let e = Self.challenge(context: context, publicShare: publicShare, x: x, share: share, a: a, b: b)
            return P256.Point.base(z) == a + publicShare.multiplied(by: e) && x.multiplied(by: z) == b + share.multiplied(by: e)
        }

        /// What a cell's proof is bound to: vault, round, the manifest root of the counted
        /// batches, team and criterion.
        public static func context(vault: String, round: String, manifestRoot: [UInt8], team: String, criterion: String) -> [UInt8] {
            var d = Array("evalvault/v2 tally cell".utf8)
            for field in [vault, round] { d += lengthPrefixed(Array(field.utf8)) }
            d += lengthPrefixed(manifestRoot)
            for field in [team, criterion] { d += lengthPrefixed(Array(field.utf8)) }
            return SHA256.hash(data: d)
        }
    }

    /// The Lagrange coefficients at 0 for the holder indices given (distinct, ≥ 1).
    public static func lagrangeCoefficients(_ indices: [Int]) -> [P256.Scalar] {
        indices.map { j in
            var num = P256.Scalar.one, den = P256.Scalar.one
            for m in indices where m != j {
                num = num * P256.Scalar(UInt64(m))
                den = den * (P256.Scalar(UInt64(m)) - P256.Scalar(UInt64(j)))
            }
            return num * den.inverse!
        }
    }

    /// Y − Σ λⱼ·Dⱼ = m·H, from k holders' verified shares (index, D).
    public static func combine(y: P256.Point, shares: [(index: Int, share: P256.Point)]) -> P256.Point {
        let lambdas = lagrangeCoefficients(shares.map(\.index))
        return y - P256.multiScalarMultiply(shares.map(\.share), lambdas)
    }

    /// Finds m in 0…bound with m·H = P by baby-step giant-step: a table of j·H for j below
    /// `baby` (made once, shared by every cell), then P − i·baby·H looked up for each i.
    public final class DiscreteLog: @unchecked Sendable {
        // @unchecked: immutable after init.
        public let bound: Int
        let baby: Int
        let table: [UInt64: Int32]
        let giantStep: P256.Point

        public init(bound: Int) {
            precondition(bound >= 0)
            self.bound = bound
            baby = max(1, min(bound + 1, 1 << 14))
            var table = [UInt64: Int32](minimumCapacity: baby)
            var p = H
            var points = [P256.Point]()
            for _ in 1..<max(baby, 2) { points.append(p); p = p + H }
            P256.normalize(points)
            for (j, q) in points.enumerated() where j + 1 < baby { table[Self.key(q)] = Int32(j + 1) }
            self.table = table
            giantStep = -Tally.hTable.multiply(P256.Scalar(UInt64(baby)))
        }

        static func key(_ p: P256.Point) -> UInt64 {
            p.encoded(compressed: true)[1..<9].reduce(0) { $0 << 8 | UInt64($1) }
        }

        /// m, or nil when no m in 0…bound fits (the total is not a sum of grid indices).
        public func solve(_ point: P256.Point) -> Int? {
            var q = point
            var i = 0
            while i * baby <= bound {
                if q.isIdentity { return i * baby }
                if let j = table[Self.key(q)] {
                    let m = i * baby + Int(j)
                    if m <= bound, Tally.hTable.multiply(P256.Scalar(UInt64(m))) == point { return m }
                }
                q = q + giantStep
                i += 1
            }
            return nil
        }
    }
}
