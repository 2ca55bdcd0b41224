import Foundation
import Testing
import VaultCrypto

/// P-256 point arithmetic through OpenSSL's EC API (the ground tally rounds will stand on):
/// Wycheproof's point-validation vectors — every valid case computed to its shared x-coordinate,
/// every invalid point refused when decoded — and the group laws on random scalars.
@Suite("P-256 group arithmetic")
struct P256Tests {
    @Test("Wycheproof ECDH with raw points: valid cases compute the shared x-coordinate, invalid points are refused")
    func wycheproofPoints() throws {
        let cases = try Vectors.wycheproof("ecdh_secp256r1_ecpoint_test.json")
        #expect(cases.count == 355)
        var valid = 0, invalid = 0, acceptable = 0
        for (_, t) in cases {
            let point = try? P256.Point(encoded: t.hex("public"))
            switch t.result {
            case "valid":
                valid += 1
                guard let point else { Issue.record("tcId \(t.tcID): a valid point was refused"); continue }
                let shared = point.multiplied(by: P256.Scalar.reducing(t.hex("private")))
                #expect(!shared.isIdentity && shared.affineX == t.hex("shared"), "tcId \(t.tcID)")
            case "invalid":
                invalid += 1
                #expect(point == nil, "tcId \(t.tcID) (\((t["flags"] as? [String] ?? []).joined(separator: ", "))) must be refused")
            case "acceptable":
                acceptable += 1
                if let point {
                    #expect(point.multiplied(by: P256.Scalar.reducing(t.hex("private"))).affineX == t.hex("shared"), "tcId \(t.tcID)")
                }
            default:
                Issue.record("unexpected result \(t.result) in tcId \(t.tcID)")
            }
        }
        #expect(valid == 330 && invalid == 24 && acceptable == 1, "valid \(valid), invalid \(invalid), acceptable \(acceptable)")
        print("Wycheproof P-256 points: \(valid) valid computed, \(invalid) invalid refused")
    }

    @Test("encodings round-trip; the identity, short, off-curve and changed encodings are refused")
    func encodings() throws {
        for _ in 0..<8 {
            let p = P256.Point.base(P256.Scalar.random())
            #expect(try P256.Point(encoded: p.encoded()) == p)
            #expect(try P256.Point(encoded: p.encoded(compressed: false)) == p)
            var off = p.encoded(compressed: false)
            off[64] ^= 1  // y changed: off the curve
            #expect(throws: CryptoError.self) { try P256.Point(encoded: off) }
            #expect(throws: CryptoError.self) { try P256.Point(encoded: Array(p.encoded().dropLast())) }
            // Only 04 ‖ X ‖ Y where the uncompressed form is required.
            let plain = p.encoded(compressed: false)
            #expect(try P256.Point(uncompressed: plain) == p)
            #expect(throws: CryptoError.self) { try P256.Point(uncompressed: p.encoded()) }
            var hybrid = plain
            hybrid[0] = 0x06 | (plain[64] & 1)
            #expect(try P256.Point(encoded: hybrid) == p)
            #expect(throws: CryptoError.self) { try P256.Point(uncompressed: hybrid) }
        }
        #expect(throws: CryptoError.self) { try P256.Point(encoded: [0x00]) }
        #expect(throws: CryptoError.self) { try P256.Point(encoded: [UInt8](repeating: 0, count: 33)) }
        #expect(P256.Point.identity.isIdentity && !P256.Point.generator.isIdentity)
    }

    @Test("scalars: below n only, arithmetic mod n")
    func scalars() throws {
        #expect(P256.Scalar(rawRepresentation: P256.order) == nil)
        #expect(P256.Scalar(rawRepresentation: [UInt8](repeating: 0xFF, count: 32)) == nil)
        #expect(P256.Scalar(rawRepresentation: [UInt8](repeating: 1, count: 31)) == nil)
        var nMinusOne = P256.order
        nMinusOne[31] -= 1
        let last = try #require(P256.Scalar(rawRepresentation: nMinusOne))
        #expect(last + .one == .zero && -P256.Scalar.one == last && last * last == .one)
        #expect(P256.Scalar.reducing(P256.order) == .zero && P256.Scalar.reducing(P256.order + [0]) == .zero)
        #expect(P256.Scalar(5) + P256.Scalar(7) == P256.Scalar(12) && P256.Scalar(3) * P256.Scalar(4) == P256.Scalar(12))
    }

    @Test("group laws on random scalars: (a+b)G = aG + bG, a(bG) = (ab)G, P - P = identity, n-1 times G is -G")
    func laws() throws {
        let g = P256.Point.generator
        for _ in 0..<16 {
            let a = P256.Scalar.random(), b = P256.Scalar.random()
            #expect(P256.Point.base(a + b) == P256.Point.base(a) + P256.Point.base(b))
            #expect(P256.Point.base(b).multiplied(by: a) == P256.Point.base(a * b))
            #expect(g.multiplied(by: a) == P256.Point.base(a))
            #expect((P256.Point.base(a) - P256.Point.base(a)).isIdentity)
            #expect(P256.Point.base(-a) == -P256.Point.base(a))
        }
        var nMinusOne = P256.order
        nMinusOne[31] -= 1
        #expect(P256.Point.base(try #require(P256.Scalar(rawRepresentation: nMinusOne))) == -g)
        #expect(P256.Point.base(.zero).isIdentity && (P256.Point.identity + g) == g)
    }
}
