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

        /// a·b + c mod n, in constant time (the C shim's Montgomery multiplication): the prover
        /// multiplies secret scalars.
        public static func multiplyAdd(_ a: Scalar, _ b: Scalar, _ c: Scalar? = nil) -> Scalar {
            var out = [UInt8](repeating: 0, count: 32)
            let ok: Int32
            if let c { ok = evalvault_p256_scalar_muladd(&out, a.rawRepresentation, b.rawRepresentation, c.rawRepresentation) }
            else { ok = evalvault_p256_scalar_muladd(&out, a.rawRepresentation, b.rawRepresentation, nil) }
            BigNumber.check(ok, "evalvault_p256_scalar_muladd")
            return Scalar(reduced: out)
        }

        static let minusOne = Scalar(reduced: BigNumber.with { ctx in
            let r = BigNumber(P256.order)
            BigNumber.check(BN_sub_word(r.pointer, 1), "BN_sub_word")
            return r.bytes32
        })

        public static func + (a: Scalar, b: Scalar) -> Scalar { multiplyAdd(a, one, b) }
        public static func - (a: Scalar, b: Scalar) -> Scalar { multiplyAdd(b, minusOne, a) }
        public static func * (a: Scalar, b: Scalar) -> Scalar { multiplyAdd(a, b) }

        /// The multiplicative inverse (nil for zero). Public values only (Lagrange coefficients).
        public var inverse: Scalar? {
            BigNumber.with { ctx in
                let a = BigNumber(rawRepresentation), n = BigNumber(P256.order), r = BigNumber()
                guard BN_mod_inverse(r.pointer, a.pointer, n.pointer, ctx) != nil else { ERR_clear_error(); return nil }
                return Scalar(reduced: r.bytes32)
            }
        }
        public static prefix func - (a: Scalar) -> Scalar { zero - a }
    }

    /// A point of the group. The identity (the point at infinity) arises only from arithmetic;
    /// it is never accepted from outside.
    public final class Point: @unchecked Sendable, Equatable {
        // @unchecked: the EC_POINT is never mutated after the initialiser returns.
        let pointer: OpaquePointer

        init(_ pointer: OpaquePointer) { self.pointer = pointer }

        deinit { EC_POINT_free(pointer) }

        static func make() -> OpaquePointer {
            guard let p = EC_POINT_new(P256.group) else { fatalError("EC_POINT_new failed") }
            return p
        }

        /// SEC 1 encoding, compressed (33 bytes) or uncompressed (65 bytes). Refuses anything that
        /// does not decode to a point on P-256 other than the identity. EC_POINT_oct2point itself
        /// refuses a point off the curve (it sets the coordinates through
        /// EC_POINT_set_affine_coordinates, which checks; OpenSSL since 2016): a second check
        /// cost 5 % of verifying a tally proof. P256Tests proves the refusal on this OpenSSL
        /// (Wycheproof's invalid points, a changed y).
        public convenience init(encoded bytes: [UInt8]) throws {
            let p = Self.make()
            let ok = BigNumber.with { ctx in
                bytes.count >= 33 && EC_POINT_oct2point(P256.group, p, bytes, bytes.count, ctx) == 1
                    && EC_POINT_is_at_infinity(P256.group, p) == 0
            }
            guard ok else {
                EC_POINT_free(p)
                ERR_clear_error()
                throw CryptoError.invalidParameter("not an encoded point of P-256")
            }
            self.init(p)
        }

        /// Exactly the uncompressed encoding 04 ‖ X ‖ Y (65 bytes), as every point in tally
        /// rounds' files is written (docs/tally-format.md): OpenSSL would also take the compressed
        /// and the "hybrid" forms (06/07 ‖ X ‖ Y), which the format and the independent verifier
        /// refuse, so a point must not have two accepted spellings.
        public convenience init(uncompressed bytes: [UInt8]) throws {
            guard bytes.count == 65, bytes[0] == 0x04 else {
                throw CryptoError.invalidParameter("not an uncompressed encoding of a P-256 point")
            }
            try self.init(encoded: bytes)
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

extension P256 {
    /// Multiplication by one fixed point through OpenSSL's constant-time comb table (made once,
    /// ~40 ms): about 5× faster than a variable-base multiplication, for the bases a tally round
    /// multiplies thousands of times (its joint key, the second generator H).
    public final class FixedBase: @unchecked Sendable {
        // @unchecked: the group and its table are read-only once made.
        private let group: OpaquePointer
        public let base: Point

        public init(_ base: Point) {
            guard let g = evalvault_p256_fixed_base_new(base.pointer) else { fatalError("EC_GROUP_precompute_mult failed") }
            group = g
            self.base = base
        }

        deinit { EC_GROUP_free(group) }

        /// s·base.
        public func multiply(_ s: Scalar) -> Point {
            let r = Point.make()
            BigNumber.with { ctx in
                let k = BigNumber(s.rawRepresentation)
                BigNumber.check(EC_POINT_mul(group, r, k.pointer, nil, nil, ctx), "EC_POINT_mul")
            }
            return Point(r)
        }
    }

    /// Σ sᵢ·Pᵢ in one multi-scalar multiplication (Pippenger's bucket method in the C shim).
    /// Variable time: for public values only, which is all verification handles.
    public static func multiScalarMultiply(_ points: [Point], _ scalars: [Scalar]) -> Point {
        precondition(points.count == scalars.count)
        var flat = [UInt8]()
        flat.reserveCapacity(32 * scalars.count)
        for s in scalars { flat += s.rawRepresentation }
        guard let r = multiScalarMultiply(points, scalarBytes: flat, coordinates: nil) else {
            fatalError("evalvault_p256_msm failed")
        }
        return r
    }

    /// The same with the scalars as 32-byte big-endian numbers one after another, and optionally
    /// each point's affine x ‖ y (64 bytes per point, from the uncompressed encoding it was
    /// decoded from), which spares OpenSSL an inversion per point. Nil if the shim's arithmetic
    /// produced a point off the curve (OpenSSL refuses it): the caller then checks another way
    /// rather than trusting or crashing.
    static func multiScalarMultiply(_ points: [Point], scalarBytes: [UInt8], coordinates: [UInt8]?) -> Point? {
        precondition(scalarBytes.count == 32 * points.count && (coordinates.map { $0.count == 64 * points.count } ?? true))
        let r = Point.make()
        let raw: [OpaquePointer?] = points.map { $0.pointer }
        let ok = withExtendedLifetime(points) {
            raw.withUnsafeBufferPointer { pts in
                guard let coordinates else { return evalvault_p256_msm(r, pts.baseAddress, nil, scalarBytes, points.count) }
                return coordinates.withUnsafeBufferPointer { evalvault_p256_msm(r, pts.baseAddress, $0.baseAddress, scalarBytes, points.count) }
            }
        }
        guard ok == 1 else { EC_POINT_free(r); return nil }
        return Point(r)
    }

    /// Brings points to affine form with one shared inversion, so that encoding each is cheap.
    public static func normalize(_ points: [Point]) {
        guard !points.isEmpty else { return }
        var raw: [OpaquePointer?] = points.map { $0.pointer }
        let ok = withExtendedLifetime(points) { raw.withUnsafeMutableBufferPointer { evalvault_p256_make_affine(points.count, $0.baseAddress) } }
        BigNumber.check(ok, "EC_POINTs_make_affine")
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

    /// (−self) mod n, n the P-256 group order, as 32 bytes (self may be any size).
    var negatedModOrder: [UInt8] {
        BigNumber.with { ctx in
            let n = BigNumber(P256.order), r = BigNumber()
            BigNumber.check(BN_nnmod(r.pointer, pointer, n.pointer, ctx), "BN_nnmod")
            if BN_is_zero(r.pointer) == 0 { BigNumber.check(BN_sub(r.pointer, n.pointer, r.pointer), "BN_sub") }
            return r.bytes32
        }
    }

    static func bytes(_ bn: OpaquePointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        guard BN_bn2binpad(bn, &out, 32) == 32 else { fatalError("BN_bn2binpad: more than 32 bytes") }
        return out
    }

    /// Runs `body` with the calling thread's BN_CTX (made once per thread, secure heap when
    /// available): a context per call cost more than a point addition.
    static func with<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        guard let ctx = evalvault_thread_bnctx() else { fatalError("BN_CTX_new failed") }
        return try body(ctx)
    }

    /// OpenSSL reports failure of arithmetic on valid inputs only when memory runs out.
    static func check(_ rc: Int32, _ what: String) {
        guard rc == 1 else { fatalError("\(what) failed") }
    }
}
