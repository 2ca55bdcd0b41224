import Foundation
import Testing
import VaultCrypto

@Suite("Shamir secret sharing over GF(2^8)")
struct ShamirTests {
    /// All subsets of `0..<n` of size `k`.
    static func subsets(_ n: Int, _ k: Int) -> [[Int]] {
        if k == 0 { return [[]] }
        if n < k { return [] }
        return subsets(n - 1, k) + subsets(n - 1, k - 1).map { $0 + [n - 1] }
    }

    @Test("any k of n shares rebuild the secret; every k-1 subset does not", arguments: [(1, 1), (2, 2), (2, 3), (3, 5), (4, 4), (5, 7)])
    func thresholds(k: Int, n: Int) throws {
        let secret = SecureBytes.random(count: 32)
        let shares = try Shamir.split(secret, threshold: k, shares: n)
        #expect(shares.count == n)
        #expect(Set(shares.map(\.x)).count == n)
        for subset in Self.subsets(n, k) {
            let rebuilt = try Shamir.combine(subset.map { shares[$0] })
            #expect(rebuilt.constantTimeEquals(secret), "subset \(subset) of \(k)-of-\(n)")
            let shuffled = try Shamir.combine(subset.reversed().map { shares[$0] })
            #expect(shuffled.constantTimeEquals(secret))
        }
        if k > 1 {
            for subset in Self.subsets(n, k - 1) {
                let wrong = try Shamir.combine(subset.map { shares[$0] })
                #expect(!wrong.constantTimeEquals(secret), "\(k - 1) shares of \(k)-of-\(n) must not rebuild the secret")
            }
        }
    }

    @Test("shares serialise; bad share sets are refused")
    func errors() throws {
        let secret = SecureBytes(Array("a 32-byte round private key....!".utf8))
        let shares = try Shamir.split(secret, threshold: 2, shares: 3)
        let again = try shares.map { try Shamir.Share(serialized: $0.serialized) }
        #expect(try Shamir.combine([again[2], again[0]]).constantTimeEquals(secret))
        #expect(throws: CryptoError.self) { try Shamir.combine([shares[0], shares[0]]) }
        #expect(throws: CryptoError.self) { try Shamir.combine([]) }
        #expect(throws: CryptoError.self) { try Shamir.split(secret, threshold: 4, shares: 3) }
        #expect(throws: CryptoError.self) { try Shamir.split(secret, threshold: 0, shares: 3) }
        #expect(throws: CryptoError.self) { try Shamir.Share(x: 0, y: secret) }
    }
}
