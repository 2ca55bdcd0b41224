import COpenSSL
import Foundation

/// The NIST P-256 group through OpenSSL's EC API: the foundation tally rounds will build
/// exponential ElGamal and its proofs on (design: Cryptography, Tally rounds — not used by any
/// command yet).
///
/// Why P-256 and OpenSSL's EC API: OpenSSL 3 exposes point arithmetic for the NIST curves only
/// (not for Curve25519, whose points it keeps behind X25519/Ed25519), its P-256 code is
/// constant-time and tested far beyond anything written here, and Wycheproof publishes point
/// validation vectors for it. Every point that comes from outside is decoded through
/// `Point(encoded:)`, which refuses an encoding that is malformed, off the curve or the point at
/// infinity — an invalid-curve point must never reach a multiplication by a secret.
public enum P256 {
    static var group: OpaquePointer {
        guard let g = evalvault_p256() else { fatalError("OpenSSL's default provider has no P-256") }
        return g
    }

    /// The group order n, big-endian.
    public static let order: [UInt8] = {
        guard let n = EC_GROUP_get0_order(group) else { fatalError("EC_GROUP_get0_order failed") }
        return BigNumber.bytes(n)
    }()

    /// An integer modulo the group order n (32 bytes, big-endian, always < n).
    public struct Scalar: Sendable, Equatable {
        public let rawRepresentation: [UInt8]

        /// Exactly 32 bytes below n; nil otherwise (a scalar is never silently reduced).
        public init?(rawRepresentation bytes: [UInt8]) {
            guard bytes.count == 32, bytes.lexicographicallyPrecedes(P256.order) else { return nil }
            rawRepresentation = bytes
        }

        init(reduced bytes: [UInt8]) { rawRepresentation = bytes }

        /// Any number of big-endian bytes, reduced mod n (for hashing to a scalar: use at least 48
        /// bytes so the reduction's bias is negligible).
        public static func reducing(_ bytes: [UInt8]) -> Scalar {
            BigNumber.with { ctx in
                let a = BigNumber(bytes), n = BigNumber(P256.order), r = BigNumber()
                BigNumber.check(BN_nnmod(r.pointer, a.pointer, n.pointer, ctx), "BN_nnmod")
                return Scalar(reduced: r.bytes32)
            }
        }

        /// A uniformly random scalar in [1, n) from OpenSSL's private generator.
        public static func random() -> Scalar {
            let n = BigNumber(P256.order), r = BigNumber()
            repeat {
                BigNumber.check(BN_priv_rand_range_ex(r.pointer, n.pointer, 0, nil), "BN_priv_rand_range_ex")
            } while BN_is_zero(r.pointer) == 1
            return Scalar(reduced: r.bytes32)
        }

        public static let zero = Scalar(reduced: [UInt8](repeating: 0, count: 32))
        public static let one = Scalar(reduced: [UInt8](repeating: 0, count: 31) + [1])

        /// A small non-negative integer (a grid index, a count).
        public init(_ value: UInt64) {
            rawRepresentation = [UInt8](repeating: 0, count: 24) + (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * (7 - $0))) }
        }

        static func combine(_ a: Scalar, _ b: Scalar, _ op: (OpaquePointer?, OpaquePointer?, OpaquePointer?, OpaquePointer?, OpaquePointer?) -> Int32,
                            _ name: String) -> Scalar {
            BigNumber.with { ctx in
                let x = BigNumber(a.rawRepresentation), y = BigNumber(b.rawRepresentation), n = BigNumber(P256.order), r = BigNumber()
                BigNumber.check(op(r.pointer, x.pointer, y.pointer, n.pointer, ctx), name)
                return Scalar(reduced: r.bytes32)
            }
        }

        public static func + (a: Scalar, b: Scalar) -> Scalar { combine(a, b, BN_mod_add, "BN_mod_add") }
        public static func - (a: Scalar, b: Scalar) -> Scalar { combine(a, b, BN_mod_sub, "BN_mod_sub") }
        public static func * (a: Scalar, b: Scalar) -> Scalar { combine(a, b, BN_mod_mul, "BN_mod_mul") }
        public static prefix func - (a: Scalar) -> Scalar { zero - a }
    }

    /// A point of the group. The identity (the point at infinity) arises only from arithmetic;
    /// it is never accepted from outside.
    public final class Point: @unchecked Sendable, Equatable {
        // @unchecked: the EC_POINT is never mutated after the initialiser returns.
        let pointer: OpaquePointer

        private init(_ pointer: OpaquePointer) { self.pointer = pointer }

        deinit { EC_POINT_free(pointer) }

        private static func make() -> OpaquePointer {
            guard let p = EC_POINT_new(P256.group) else { fatalError("EC_POINT_new failed") }
            return p
        }

        /// SEC 1 encoding, compressed (33 bytes) or uncompressed (65 bytes). Refuses anything that
        /// does not decode to a point on P-256 other than the identity.
        public convenience init(encoded bytes: [UInt8]) throws {
            let p = Self.make()
            let ok = BigNumber.with { ctx in
                bytes.count >= 33 && EC_POINT_oct2point(P256.group, p, bytes, bytes.count, ctx) == 1
                    && EC_POINT_is_on_curve(P256.group, p, ctx) == 1 && EC_POINT_is_at_infinity(P256.group, p) == 0
            }
            guard ok else {
                EC_POINT_free(p)
                ERR_clear_error()
                throw CryptoError.invalidParameter("not an encoded point of P-256")
            }
            self.init(p)
        }

        /// The generator G.
        public static let generator: Point = {
            guard let g = EC_GROUP_get0_generator(P256.group), let p = EC_POINT_dup(g, P256.group) else { fatalError("EC_POINT_dup failed") }
            return Point(p)
        }()

        /// The identity (the point at infinity).
        public static let identity: Point = {
            let p = make()
            guard EC_POINT_set_to_infinity(P256.group, p) == 1 else { fatalError("EC_POINT_set_to_infinity failed") }
            return Point(p)
        }()

        public var isIdentity: Bool { EC_POINT_is_at_infinity(P256.group, pointer) == 1 }

        /// SEC 1 encoding; the identity has none (it is never sent).
        public func encoded(compressed: Bool = true) -> [UInt8] {
            precondition(!isIdentity, "the identity has no encoding")
            let form = compressed ? POINT_CONVERSION_COMPRESSED : POINT_CONVERSION_UNCOMPRESSED
            var out = [UInt8](repeating: 0, count: compressed ? 33 : 65)
            let n = BigNumber.with { ctx in EC_POINT_point2oct(P256.group, pointer, form, &out, out.count, ctx) }
            precondition(n == out.count, "EC_POINT_point2oct failed")
            return out
        }

        /// The affine x-coordinate (32 bytes), as ECDH's shared secret is.
        public var affineX: [UInt8] {
            precondition(!isIdentity, "the identity has no coordinates")
            return BigNumber.with { ctx in
                let x = BigNumber(), y = BigNumber()
                BigNumber.check(EC_POINT_get_affine_coordinates(P256.group, pointer, x.pointer, y.pointer, ctx), "EC_POINT_get_affine_coordinates")
                return x.bytes32
            }
        }

        /// s·self.
        public func multiplied(by s: Scalar) -> Point {
            let r = Self.make()
            BigNumber.with { ctx in
                let k = BigNumber(s.rawRepresentation)
                BigNumber.check(EC_POINT_mul(P256.group, r, nil, pointer, k.pointer, ctx), "EC_POINT_mul")
            }
            return Point(r)
        }

        /// s·G (OpenSSL's fixed-base path).
        public static func base(_ s: Scalar) -> Point {
            let r = make()
            BigNumber.with { ctx in
                let k = BigNumber(s.rawRepresentation)
                BigNumber.check(EC_POINT_mul(P256.group, r, k.pointer, nil, nil, ctx), "EC_POINT_mul")
            }
            return Point(r)
        }

        public static func + (a: Point, b: Point) -> Point {
            let r = make()
            BigNumber.with { ctx in BigNumber.check(EC_POINT_add(P256.group, r, a.pointer, b.pointer, ctx), "EC_POINT_add") }
            return Point(r)
        }

        public static prefix func - (a: Point) -> Point {
            guard let r = EC_POINT_dup(a.pointer, P256.group) else { fatalError("EC_POINT_dup failed") }
            BigNumber.with { ctx in BigNumber.check(EC_POINT_invert(P256.group, r, ctx), "EC_POINT_invert") }
            return Point(r)
        }

        public static func - (a: Point, b: Point) -> Point { a + (-b) }

        public static func == (a: Point, b: Point) -> Bool {
            BigNumber.with { ctx in EC_POINT_cmp(P256.group, a.pointer, b.pointer, ctx) == 0 }
        }
    }
}

/// A BIGNUM owned by Swift, cleared when freed (scalars may be secret).
final class BigNumber {
    let pointer: OpaquePointer

    init() {
        guard let p = BN_secure_new() ?? BN_new() else { fatalError("BN_new failed") }
        pointer = p
    }

    convenience init(_ bytes: [UInt8]) {
        self.init()
        guard BN_bin2bn(bytes, Int32(bytes.count), pointer) != nil else { fatalError("BN_bin2bn failed") }
    }

    deinit { BN_clear_free(pointer) }

    var bytes32: [UInt8] { Self.bytes(pointer) }

    static func bytes(_ bn: OpaquePointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        guard BN_bn2binpad(bn, &out, 32) == 32 else { fatalError("BN_bn2binpad: more than 32 bytes") }
        return out
    }

    /// Runs `body` with a fresh BN_CTX (secure heap when available).
    static func with<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        guard let ctx = BN_CTX_secure_new() ?? BN_CTX_new() else { fatalError("BN_CTX_new failed") }
        defer { BN_CTX_free(ctx) }
        return try body(ctx)
    }

    /// OpenSSL reports failure of arithmetic on valid inputs only when memory runs out.
    static func check(_ rc: Int32, _ what: String) {
        guard rc == 1 else { fatalError("\(what) failed") }
    }
}
