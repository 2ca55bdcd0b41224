import Foundation
import Testing
@testable import VaultCrypto

/// Tally rounds' cryptography on real OpenSSL arithmetic: the grid's bit weights, encryption
/// with range proofs (every valid proof accepted, every single-field change refused, one by one
/// and in a batch), the ceremony (shares checked against commitments, a cheater caught), partial
/// decryptions with proofs, any k of n giving the same totals, k − 1 giving nothing, and the
/// bounded discrete logarithm.
@Suite("Tally cryptography")
struct TallyTests {
    /// A ceremony run in one process for the tests: 3 holders, threshold 2.
    struct Ceremony {
        let n = 3, k = 2
        let polynomials: [[P256.Scalar]]
        let commitments: [[P256.Point]]
        let key: Tally.PublicKey

        init() {
            polynomials = (0..<3).map { _ in Tally.Ceremony.polynomial(seed: SecureBytes.random(count: 32), threshold: 2) }
            commitments = polynomials.enumerated().map { j, poly in
                Tally.Ceremony.commit(polynomial: poly, context: Self.context(j + 1)).coefficients
            }
            key = Tally.PublicKey(Tally.Ceremony.jointKey(commitments: commitments))
        }

        static func context(_ index: Int) -> [UInt8] {
            Tally.Ceremony.context(vault: "v", round: "R1", holders: ["cm-1", "cm-2", "cm-3"], threshold: 2, index: index)
        }

        /// Holder i's key share sᵢ = Σⱼ fⱼ(i).
        func secretShare(_ i: Int) -> P256.Scalar {
            polynomials.reduce(P256.Scalar.zero) { $0 + Tally.Ceremony.share(polynomial: $1, for: i) }
        }
    }

    static func context(evaluator: String = "ev-1", team: String = "t1", criterion: String = "c1", key: Tally.PublicKey,
                        grid: Tally.Grid) -> [UInt8] {
        Tally.context(vault: "v", round: "R1", key: key.point, evaluator: evaluator, team: team, criterion: criterion, grid: grid)
    }

    @Test("bit weights reach exactly 0…M for every M up to 1,100")
    func gridWeights() {
        for m in 1...1_100 {
            let grid = Tally.Grid(maxIndex: m)
            var reachable: Set<UInt64> = [0]
            for w in grid.weights { reachable.formUnion(reachable.map { $0 + w }) }
            #expect(reachable == Set(0...UInt64(m)), "M = \(m): \(grid.weights)")
        }
        #expect(Tally.Grid(maxIndex: 200).weights == [1, 2, 4, 8, 16, 32, 64, 73])
        #expect(Tally.Grid(maxIndex: 1).weights == [1])
    }

    @Test("the multi-scalar multiplication equals the sum of single multiplications")
    func multiScalar() {
        for count in [1, 2, 17, 300] {
            let points = (0..<count).map { _ in P256.Point.base(.random()) }
            let scalars = (0..<count).map { i in i % 3 == 0 ? P256.Scalar(UInt64(i)) : .random() }
            let expected = zip(points, scalars).reduce(P256.Point.identity) { $0 + $1.0.multiplied(by: $1.1) }
            #expect(P256.multiScalarMultiply(points, scalars) == expected, "\(count) points")
        }
        #expect(P256.multiScalarMultiply([P256.Point.generator], [.zero]).isIdentity)
    }

    @Test("the batched affine additions (from 2,048 points) equal single multiplications, where points meet themselves, their negations and the identity")
    func multiScalarAffine() {
        let distinct = (0..<50).map { _ in P256.Point.base(.random()) }
        let shared = P256.Scalar.random()
        var points = [P256.Point](), scalars = [P256.Scalar]()
        for i in 0..<2_600 {
            let p = distinct[i % 50]
            points.append((i / 50) % 2 == 1 ? -p : p)
            switch i % 7 {
            case 0: scalars.append(shared) // equal digits: the same bucket in every window
            case 1: scalars.append(P256.Scalar(rawRepresentation: [UInt8](repeating: 0, count: 16) + SecureRandom.bytes(count: 16))!)
            case 2 where i % 5 == 0: scalars.append(.zero)
            default: scalars.append(.random())
            }
        }
        points[3] = P256.Point.identity
        let expected = zip(points, scalars).reduce(P256.Point.identity) { $0 + $1.0.multiplied(by: $1.1) }
        let coordinates = points.flatMap { $0.isIdentity ? [UInt8](repeating: 0, count: 64) : Array($0.encoded(compressed: false).dropFirst()) }
        #expect(P256.multiScalarMultiply(points, scalars) == expected)
        #expect(P256.multiScalarMultiply(points, scalarBytes: scalars.flatMap(\.rawRepresentation), coordinates: coordinates) == expected)

        // Every point next to its negation with the same scalar: the sum is the identity.
        let paired = (0..<1_100).flatMap { i in [distinct[i % 50], -distinct[i % 50]] }
        let pairedScalars = (0..<1_100).flatMap { i in [scalars[i], scalars[i]] }
        #expect(P256.multiScalarMultiply(paired, pairedScalars).isIdentity)

        // One point 2,100 times with one scalar: every bucket's additions are doublings.
        let same = [P256.Point](repeating: distinct[0], count: 2_100)
        #expect(P256.multiScalarMultiply(same, [P256.Scalar](repeating: shared, count: 2_100))
                == distinct[0].multiplied(by: P256.Scalar.multiplyAdd(shared, P256.Scalar(2_100))))

        // Coordinates that are not the point's: the sums leave the curve and OpenSSL refuses them.
        var wrong = coordinates
        wrong[64 * 10 + 63] ^= 1
        #expect(P256.multiScalarMultiply(points, scalarBytes: scalars.flatMap(\.rawRepresentation), coordinates: wrong) == nil)
    }

    @Test("fixed-base tables and the scalar arithmetic agree with OpenSSL's plain paths")
    func fixedBaseAndScalars() {
        let table = P256.FixedBase(Tally.H)
        for _ in 0..<5 {
            let a = P256.Scalar.random(), b = P256.Scalar.random()
            #expect(table.multiply(a) == Tally.H.multiplied(by: a))
            #expect(P256.Point.base(a * b) == P256.Point.base(a).multiplied(by: b))
            #expect(P256.Point.base(a + b) == P256.Point.base(a) + P256.Point.base(b))
            #expect(P256.Point.base(a - b) == P256.Point.base(a) - P256.Point.base(b))
            #expect(a * a.inverse! == .one)
        }
        #expect(P256.Scalar.zero.inverse == nil)
    }

    @Test("H is reproducible from its definition and is not G")
    func secondGenerator() {
        // The first counter whose hash is an x-coordinate on the curve; the Python verifier
        // derives the same point from the document alone.
        #expect(Tally.H.encoded(compressed: true)[0] == 0x02)
        #expect(Tally.H != P256.Point.generator)
    }

    @Test("valid proofs are accepted one by one and in a batch, for every index of small grids")
    func proofsAccepted() {
        let ceremony = Ceremony()
        for m in [1, 2, 10, 200] {
            let grid = Tally.Grid(maxIndex: m)
            let indices = m <= 10 ? Array(0...m) : [0, 1, 72, 73, 127, 128, 199, 200]
            let items = indices.map { i in
                let ctx = Self.context(key: ceremony.key, grid: grid)
                return Tally.ScoreToVerify(Tally.encrypt(index: i, grid: grid, key: ceremony.key, context: ctx), context: ctx)
            }
            for item in items { #expect(Tally.verifyOne(item, grid: grid, key: ceremony.key)) }
            #expect(Tally.batchHolds(items, grid: grid, key: ceremony.key), "M = \(m)")
            #expect(Tally.verify(items, grid: grid, key: ceremony.key) == [], "M = \(m)")
        }
    }

    @Test("a batch large enough for the affine path (100 scores, 2,703 points) holds, and fails with any one score changed")
    func largeBatch() throws {
        let ceremony = Ceremony()
        let grid = Tally.Grid(maxIndex: 200)
        let items = (0..<100).map { i in
            let ctx = Self.context(evaluator: "ev-\(i)", key: ceremony.key, grid: grid)
            return Tally.ScoreToVerify(Tally.encrypt(index: (i * 37) % 201, grid: grid, key: ceremony.key, context: ctx), context: ctx)
        }
        #expect(Tally.batchHolds(items, grid: grid, key: ceremony.key))
        // One point (a bit's A₁), one scalar (a bit's v₀) and the last z_m, each in another score.
        let bits = grid.bitCount
        for (score, offset) in [(3, 65 * 6), (50, 65 * (3 + 3 * bits) + 32 * 3 + 32), (99, Tally.EncryptedScore.byteCount(bitCount: bits) - 32)] {
            var changed = items
            var bytes = items[score].score.encoded
            let donor = items[(score + 1) % 100].score.encoded
            let length = offset >= 65 * (3 + 3 * bits) ? 32 : 65
            bytes.replaceSubrange(offset..<offset + length, with: donor[offset..<offset + length])
            changed[score] = Tally.ScoreToVerify(try Tally.EncryptedScore(decoding: bytes, bitCount: bits), context: items[score].context)
            #expect(!Tally.batchHolds(changed, grid: grid, key: ceremony.key), "score \(score), byte \(offset)")
            #expect(Tally.verify(changed, grid: grid, key: ceremony.key) == [score])
        }
    }

    @Test("every single-field change of an encrypted score is refused, alone and inside a batch")
    func singleFieldChanges() throws {
        let ceremony = Ceremony()
        let grid = Tally.Grid(maxIndex: 10)
        let ctx = Self.context(key: ceremony.key, grid: grid)
        let good = Tally.encrypt(index: 7, grid: grid, key: ceremony.key, context: ctx)
        let bytes = good.encoded
        #expect(try Tally.EncryptedScore(decoding: bytes, bitCount: grid.bitCount) == good)
        // Field boundaries in the encoding: each point (65 bytes) and scalar (32 bytes).
        var fields = [(Int, Int)]()
        var at = 0
        func take(_ n: Int) { fields.append((at, n)); at += n }
        take(65)
        for _ in 0..<grid.bitCount { take(65); take(65); take(65) }
        take(65); take(65)
        for _ in 0..<grid.bitCount { take(32); take(32); take(32) }
        take(32); take(32)
        #expect(at == bytes.count)
        let other = Tally.encrypt(index: 3, grid: grid, key: ceremony.key, context: ctx).encoded
        var refused = 0
        for (offset, length) in fields {
            // Replace the field with the same field of another valid score: still well formed,
            // so only the proof can catch it.
            var changed = bytes
            changed.replaceSubrange(offset..<offset + length, with: other[offset..<offset + length])
            let score = try Tally.EncryptedScore(decoding: changed, bitCount: grid.bitCount)
            let item = Tally.ScoreToVerify(score, context: ctx)
            #expect(!Tally.verifyOne(item, grid: grid, key: ceremony.key), "field at \(offset) changed")
            let batch = [Tally.ScoreToVerify(good, context: ctx), item, Tally.ScoreToVerify(good, context: ctx)]
            #expect(!Tally.batchHolds(batch, grid: grid, key: ceremony.key), "field at \(offset) in a batch")
            #expect(Tally.verify(batch, grid: grid, key: ceremony.key) == [1], "field at \(offset) in a batch")
            refused += 1
        }
        #expect(refused == 1 + 6 * grid.bitCount + 4)
        // The same score bound elsewhere: another evaluator, team, criterion, round or key.
        for moved in [Self.context(evaluator: "ev-2", key: ceremony.key, grid: grid),
                      Self.context(team: "t2", key: ceremony.key, grid: grid),
                      Self.context(criterion: "c2", key: ceremony.key, grid: grid),
                      Tally.context(vault: "v", round: "R2", key: ceremony.key.point, evaluator: "ev-1", team: "t1", criterion: "c1", grid: grid),
                      Self.context(key: ceremony.key, grid: Tally.Grid(maxIndex: 11))] {
            #expect(!Tally.verifyOne(Tally.ScoreToVerify(good, context: moved), grid: grid, key: ceremony.key))
        }
        // A scalar at or above n, a point off the curve, a short encoding: refused when decoded.
        var high = bytes
        let scalars = 65 * (3 + 3 * grid.bitCount)
        high.replaceSubrange(scalars + 32..<scalars + 64, with: [UInt8](repeating: 0xff, count: 32))
        #expect(throws: CryptoError.self) { try Tally.EncryptedScore(decoding: high, bitCount: grid.bitCount) }
        var offCurve = bytes
        offCurve[64 + 65] ^= 1
        #expect(throws: CryptoError.self) { try Tally.EncryptedScore(decoding: offCurve, bitCount: grid.bitCount) }
        #expect(throws: CryptoError.self) { try Tally.EncryptedScore(decoding: bytes.dropLast(), bitCount: grid.bitCount) }
        // The same point spelled in SEC 1's hybrid form (06 or 07 by the parity of y), which
        // OpenSSL reads: refused, as the format says, so a point has one spelling.
        var hybrid = bytes
        hybrid[65] = 0x06 | (bytes[65 + 64] & 1)
        #expect(throws: CryptoError.self) { try Tally.EncryptedScore(decoding: hybrid, bitCount: grid.bitCount) }
        #expect((try? P256.Point(encoded: Array(hybrid[65..<130]))) != nil, "OpenSSL reads the hybrid form")
    }

    @Test("the ceremony: shares agree with commitments, a changed share or commitment names its holder")
    func ceremony() {
        let c = Ceremony()
        for j in 0..<c.n {
            let ctx = Ceremony.context(j + 1)
            let (coefficients, proofs) = Tally.Ceremony.commit(polynomial: c.polynomials[j], context: ctx)
            #expect(Tally.Ceremony.verifyCommitments(coefficients, proofs: proofs, context: ctx))
            // Proofs are bound to the holder's place: replayed as another holder's, they fail.
            #expect(!Tally.Ceremony.verifyCommitments(coefficients, proofs: proofs, context: Ceremony.context((j + 1) % 3 + 1)))
            // A commitment swapped for a point whose logarithm the holder does not know fails.
            #expect(!Tally.Ceremony.verifyCommitments([P256.Point.base(.random())] + coefficients.dropFirst(), proofs: proofs, context: ctx))
            for i in 1...c.n {
                let share = Tally.Ceremony.share(polynomial: c.polynomials[j], for: i)
                #expect(Tally.Ceremony.verifyShare(share, index: i, coefficients: c.commitments[j]))
                #expect(!Tally.Ceremony.verifyShare(share + .one, index: i, coefficients: c.commitments[j]))
            }
        }
        for i in 1...c.n {
            #expect(Tally.Ceremony.publicShare(index: i, commitments: c.commitments) == P256.Point.base(c.secretShare(i)))
        }
    }

    @Test("cell totals: any 2 of 3 holders decrypt the same sums; 1 holder's share decrypts nothing")
    func thresholdDecryption() throws {
        let c = Ceremony()
        let grid = Tally.Grid(maxIndex: 200)
        let indices = [0, 200, 17, 99, 150, 3]
        let scores = indices.enumerated().map { e, i in
            Tally.encrypt(index: i, grid: grid, key: c.key, context: Self.context(evaluator: "ev-\(e)", key: c.key, grid: grid))
        }
        let x = scores.dropFirst().reduce(scores[0].x) { $0 + $1.x }
        let y = scores.dropFirst().reduce(scores[0].y(grid: grid)) { $0 + $1.y(grid: grid) }
        let ctx = Tally.PartialDecryption.context(vault: "v", round: "R1", manifestRoot: [1, 2, 3], team: "t1", criterion: "c1")
        let partials = (1...3).map { i in
            Tally.PartialDecryption(x: x, secretShare: c.secretShare(i), publicShare: Tally.Ceremony.publicShare(index: i, commitments: c.commitments), context: ctx)
        }
        for (i, p) in partials.enumerated() {
            let pub = Tally.Ceremony.publicShare(index: i + 1, commitments: c.commitments)
            #expect(p.verify(x: x, publicShare: pub, context: ctx))
            // Bound to its cell, its holder, and its share.
            #expect(!p.verify(x: x, publicShare: pub, context: Tally.PartialDecryption.context(vault: "v", round: "R1", manifestRoot: [1, 2, 3], team: "t2", criterion: "c1")))
            #expect(!p.verify(x: x, publicShare: Tally.Ceremony.publicShare(index: (i + 1) % 3 + 1, commitments: c.commitments), context: ctx))
            let forged = Tally.PartialDecryption(share: p.share + P256.Point.generator, a: p.a, b: p.b, z: p.z)
            #expect(!forged.verify(x: x, publicShare: pub, context: ctx))
        }
        let log = Tally.DiscreteLog(bound: grid.maxIndex * indices.count)
        for pair in [[1, 2], [1, 3], [2, 3]] {
            let total = Tally.combine(y: y, shares: pair.map { ($0, partials[$0 - 1].share) })
            #expect(log.solve(total) == indices.reduce(0, +), "holders \(pair)")
        }
        // One holder alone (k − 1): its share with a Lagrange coefficient of 1 gives no sum.
        for i in 1...3 {
            #expect(log.solve(y - partials[i - 1].share) == nil)
        }
    }

    @Test("the bounded discrete logarithm finds every m up to its bound and nothing beyond")
    func discreteLog() {
        let log = Tally.DiscreteLog(bound: 40_000)
        for m in [0, 1, 2, 16_383, 16_384, 16_385, 39_999, 40_000] + (0..<20).map({ _ in Int.random(in: 0...40_000) }) {
            let p = m == 0 ? P256.Point.identity : Tally.H.multiplied(by: P256.Scalar(UInt64(m)))
            #expect(log.solve(p) == m, "m = \(m)")
        }
        #expect(log.solve(Tally.H.multiplied(by: P256.Scalar(40_001))) == nil)
        #expect(log.solve(P256.Point.generator) == nil)
        #expect(Tally.DiscreteLog(bound: 0).solve(P256.Point.identity) == 0)
    }
}
