import Foundation
/// Shamir's secret sharing over GF(2^8) (the AES field, polynomial x^8 + x^4 + x^3 + x + 1),
/// byte by byte, for k-of-n round keys (design: Cryptography).
///
/// Field arithmetic is branch-free and table-free so that its timing does not depend on secret
/// bytes. Polynomial coefficients come from RAND_bytes. Any k shares give the secret; fewer
/// give a value independent of it.
public enum Shamir {
    /// One share: its x coordinate (1...255) and one y byte per secret byte.
    public struct Share: Sendable {
        public let x: UInt8
        public let y: SecureBytes

        public init(x: UInt8, y: SecureBytes) throws {
            guard x != 0 else { throw CryptoError.invalidParameter("a Shamir share's x must not be 0") }
            self.x = x
            self.y = y
        }

        /// x ‖ y, the form wrapped to a holder.
        public var serialized: SecureBytes {
            SecureBytes(count: 1 + y.count) { out in
                out[0] = x
                y.withUnsafeBytes { if $0.count > 0 { out.baseAddress!.advanced(by: 1).copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
            }
        }

        public init(serialized: SecureBytes) throws {
            guard serialized.count >= 2 else { throw CryptoError.invalidParameter("a Shamir share is too short") }
            try self.init(x: serialized.withUnsafeBytes { $0[0] }, y: serialized.slice(1..<serialized.count))
        }
    }

    /// Splits `secret` into `shares` shares of which any `threshold` rebuild it.
    public static func split(_ secret: SecureBytes, threshold: Int, shares: Int) throws -> [Share] {
        guard threshold >= 1, shares >= threshold, shares <= 255 else {
            throw CryptoError.invalidParameter("Shamir needs 1 <= threshold <= shares <= 255")
        }
        guard !secret.isEmpty else { throw CryptoError.invalidParameter("Shamir secret is empty") }
        let length = secret.count
        // coefficients[b * (k-1) + j] is the (j+1)-th coefficient of byte b's polynomial.
        let coefficients = SecureBytes.random(count: length * (threshold - 1))
        return try (1...shares).map { index in
            let x = UInt8(index)
            let y = SecureBytes(count: length) { out in
                secret.withUnsafeBytes { s in
                    coefficients.withUnsafeBytes { c in
                        for b in 0..<length {
                            // Horner: a0 + x(a1 + x(a2 + ...)).
                            var acc: UInt8 = 0
                            var j = threshold - 2
                            while j >= 0 {
                                acc = GF256.mul(acc, x) ^ c[b * (threshold - 1) + j]
                                j -= 1
                            }
                            out[b] = GF256.mul(acc, x) ^ s[b]
                        }
                    }
                }
            }
            return try Share(x: x, y: y)
        }
    }

    /// Rebuilds the secret by Lagrange interpolation at x = 0. With fewer than the threshold's
    /// shares the result is a wrong value, not an error: callers check the result against a
    /// public commitment (a round key against its public key).
    public static func combine(_ shares: [Share]) throws -> SecureBytes {
        guard let first = shares.first else { throw CryptoError.invalidParameter("no Shamir shares given") }
        let length = first.y.count
        guard shares.allSatisfy({ $0.y.count == length }) else { throw CryptoError.invalidParameter("Shamir shares differ in length") }
        guard Set(shares.map(\.x)).count == shares.count else { throw CryptoError.invalidParameter("duplicate Shamir share") }
        // Lagrange basis at 0: l_i = Π_{j≠i} x_j / (x_j ⊕ x_i)
        let basis: [UInt8] = shares.indices.map { i in
            var num: UInt8 = 1, den: UInt8 = 1
            for j in shares.indices where j != i {
                num = GF256.mul(num, shares[j].x)
                den = GF256.mul(den, shares[j].x ^ shares[i].x)
            }
            return GF256.mul(num, GF256.inverse(den))
        }
        return SecureBytes(count: length) { out in
            for (i, share) in shares.enumerated() {
                share.y.withUnsafeBytes { y in
                    for b in 0..<length { out[b] ^= GF256.mul(y[b], basis[i]) }
                }
            }
        }
    }
}

/// GF(2^8) arithmetic without secret-dependent branches or table look-ups.
enum GF256 {
    @inline(__always)
    static func mul(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var a = a, b = b, p: UInt8 = 0
        for _ in 0..<8 {
            p ^= a & (0 &- (b & 1))
            let carry = 0 &- (a >> 7)
            a = (a << 1) ^ (0x1b & carry)
            b >>= 1
        }
        return p
    }

    /// a^254 = a^-1 for a ≠ 0 (and 0 for 0).
    static func inverse(_ a: UInt8) -> UInt8 {
        var result: UInt8 = 1, base = a, e = 254
        while e > 0 {
            if e & 1 == 1 { result = mul(result, base) }  // the exponent is public; only `a` is secret
            base = mul(base, base)
            e >>= 1
        }
        return result
    }
}
