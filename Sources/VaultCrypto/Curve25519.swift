import Foundation
import COpenSSL

/// An owned EVP_PKEY. OpenSSL 3 keys are reference-counted and safe to use from several threads
/// for read-only operations (derive, sign, verify), which is all EvalVault does with them.
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }  // EVP_PKEY_free cleanses private key material.

    static func fromRawPrivate(type: Int32, _ bytes: some ContiguousBytes) throws -> EVPKey {
        let key = bytes.withUnsafeBytes { b -> OpaquePointer? in
            guard b.count == 32 else { return nil }
            return EVP_PKEY_new_raw_private_key(type, nil, b.bindMemory(to: UInt8.self).baseAddress, 32)
        }
        guard let key else { ERR_clear_error(); throw CryptoError.invalidParameter("private key must be 32 bytes") }
        return EVPKey(key)
    }

    static func fromRawPublic(type: Int32, _ bytes: some ContiguousBytes) throws -> EVPKey {
        let key = bytes.withUnsafeBytes { b -> OpaquePointer? in
            guard b.count == 32 else { return nil }
            return EVP_PKEY_new_raw_public_key(type, nil, b.bindMemory(to: UInt8.self).baseAddress, 32)
        }
        guard let key else { ERR_clear_error(); throw CryptoError.invalidParameter("public key must be 32 bytes") }
        return EVPKey(key)
    }

    static func generate(type: Int32) -> EVPKey {
        guard let ctx = EVP_PKEY_CTX_new_id(type, nil) else { fatalError("EVP_PKEY_CTX_new_id failed") }
        defer { EVP_PKEY_CTX_free(ctx) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_keygen(ctx, &key) == 1, let key else {
            fatalError("EVP_PKEY_keygen failed")
        }
        return EVPKey(key)
    }

    func rawPublic() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var len = 32
        guard EVP_PKEY_get_raw_public_key(pointer, &out, &len) == 1, len == 32 else { fatalError("EVP_PKEY_get_raw_public_key failed") }
        return out
    }

    func rawPrivate() -> SecureBytes {
        SecureBytes(count: 32) { out in
            var len = 32
            guard EVP_PKEY_get_raw_private_key(pointer, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &len) == 1, len == 32 else {
                fatalError("EVP_PKEY_get_raw_private_key failed")
            }
        }
    }
}

/// A public key's EVP_PKEY, made on first use. Why lazy: a reveal loads a thousand principals
/// (two public keys each) and uses few of them for any operation; OpenSSL 3 builds a key through
/// its provider machinery, which cost more than the rest of loading the record.
final class LazyPublicKey: @unchecked Sendable {
    // @unchecked: `made` is written once, under `lock`, and only read after.
    let type: Int32
    let raw: [UInt8]
    private var made: EVPKey?
    private let lock = NSLock()

    init(type: Int32, raw: [UInt8]) { self.type = type; self.raw = raw }

    var key: EVPKey {
        lock.lock()
        defer { lock.unlock() }
        if let made { return made }
        // 32 bytes were checked when the key was made; OpenSSL refuses nothing else for these types.
        let k = try! EVPKey.fromRawPublic(type: type, raw)
        made = k
        return k
    }
}

/// X25519 and Ed25519, shaped like swift-crypto's `Curve25519` namespace.
public enum Curve25519 {
    /// X25519 Diffie-Hellman (RFC 7748).
    public enum KeyAgreement {
        public struct PublicKey: Sendable, Equatable {
            private let lazy: LazyPublicKey
            var key: EVPKey { lazy.key }
            public var rawRepresentation: [UInt8] { lazy.raw }

            public init(rawRepresentation: some ContiguousBytes) throws {
                let raw = rawRepresentation.withUnsafeBytes { Array($0) }
                guard raw.count == 32 else { throw CryptoError.invalidParameter("public key must be 32 bytes") }
                lazy = LazyPublicKey(type: EVP_PKEY_X25519, raw: raw)
            }

            public static func == (a: PublicKey, b: PublicKey) -> Bool { a.rawRepresentation == b.rawRepresentation }
        }

        public struct PrivateKey: Sendable {
            let key: EVPKey
            public let publicKey: PublicKey

            /// A fresh key pair from OpenSSL's key generator.
            public init() {
                key = EVPKey.generate(type: EVP_PKEY_X25519)
                publicKey = try! PublicKey(rawRepresentation: key.rawPublic())
            }

            public init(rawRepresentation: some ContiguousBytes) throws {
                key = try EVPKey.fromRawPrivate(type: EVP_PKEY_X25519, rawRepresentation)
                publicKey = try PublicKey(rawRepresentation: key.rawPublic())
            }

            /// The 32-byte private scalar, in a wiped buffer (for sealing into a key file).
            public var rawRepresentation: SecureBytes { key.rawPrivate() }

            /// X25519(self, peer). Throws `zeroSharedSecret` for a low-order peer key: such a
            /// secret carries no contribution from us and would make HPKE's key predictable.
            public func sharedSecretFromKeyAgreement(with peer: PublicKey) throws -> SecureBytes {
                guard let ctx = EVP_PKEY_CTX_new(key.pointer, nil) else { throw CryptoError.openSSL("EVP_PKEY_CTX_new") }
                defer { EVP_PKEY_CTX_free(ctx) }
                var len = 32
                let secret = try SecureBytes(count: 32) { out in
                    guard EVP_PKEY_derive_init(ctx) == 1, EVP_PKEY_derive_set_peer(ctx, peer.key.pointer) == 1,
                          EVP_PKEY_derive(ctx, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &len) == 1, len == 32 else {
                        ERR_clear_error()
                        throw CryptoError.zeroSharedSecret  // OpenSSL 3 refuses exactly the all-zero result here.
                    }
                }
                if secret.constantTimeEquals([UInt8](repeating: 0, count: 32)) { throw CryptoError.zeroSharedSecret }
                return secret
            }
        }
    }

    /// Ed25519 signatures (RFC 8032), pure mode.
    public enum Signing {
        public static let signatureByteCount = 64

        public struct PublicKey: Sendable, Equatable {
            private let lazy: LazyPublicKey
            var key: EVPKey { lazy.key }
            public var rawRepresentation: [UInt8] { lazy.raw }

            public init(rawRepresentation: some ContiguousBytes) throws {
                let raw = rawRepresentation.withUnsafeBytes { Array($0) }
                guard raw.count == 32 else { throw CryptoError.invalidParameter("public key must be 32 bytes") }
                lazy = LazyPublicKey(type: EVP_PKEY_ED25519, raw: raw)
            }

            public static func == (a: PublicKey, b: PublicKey) -> Bool { a.rawRepresentation == b.rawRepresentation }

            /// Verifies a 64-byte signature over `data`. Any malformed input is simply invalid.
            public func isValidSignature(_ signature: some ContiguousBytes, for data: some ContiguousBytes) -> Bool {
                guard let md = EVP_MD_CTX_new() else { return false }
                defer { EVP_MD_CTX_free(md) }
                let ok = signature.withUnsafeBytes { sig -> Bool in
                    guard sig.count == Signing.signatureByteCount,
                          EVP_DigestVerifyInit(md, nil, nil, nil, key.pointer) == 1 else { return false }
                    return withBytePointer(data) { msg, count in
                        EVP_DigestVerify(md, sig.bindMemory(to: UInt8.self).baseAddress, sig.count, msg, count) == 1
                    }
                }
                if !ok { ERR_clear_error() }
                return ok
            }
        }

        public struct PrivateKey: Sendable {
            let key: EVPKey
            public let publicKey: PublicKey

            public init() {
                key = EVPKey.generate(type: EVP_PKEY_ED25519)
                publicKey = try! PublicKey(rawRepresentation: key.rawPublic())
            }

            /// From the 32-byte seed of RFC 8032.
            public init(rawRepresentation seed: some ContiguousBytes) throws {
                key = try EVPKey.fromRawPrivate(type: EVP_PKEY_ED25519, seed)
                publicKey = try PublicKey(rawRepresentation: key.rawPublic())
            }

            /// The 32-byte seed, in a wiped buffer.
            public var rawRepresentation: SecureBytes { key.rawPrivate() }

            public func signature(for data: some ContiguousBytes) throws -> [UInt8] {
                guard let md = EVP_MD_CTX_new() else { throw CryptoError.openSSL("EVP_MD_CTX_new") }
                defer { EVP_MD_CTX_free(md) }
                var sig = [UInt8](repeating: 0, count: Signing.signatureByteCount)
                var len = sig.count
                let ok = withBytePointer(data) { msg, count in
                    EVP_DigestSignInit(md, nil, nil, nil, key.pointer) == 1 && EVP_DigestSign(md, &sig, &len, msg, count) == 1
                }
                guard ok, len == 64 else { ERR_clear_error(); throw CryptoError.openSSL("Ed25519 sign") }
                return sig
            }
        }
    }
}

/// Calls `body` with a non-null pointer to the bytes (OpenSSL wants one even for empty input).
func withBytePointer<R>(_ data: some ContiguousBytes, _ body: (UnsafePointer<UInt8>, Int) throws -> R) rethrows -> R {
    try data.withUnsafeBytes { b in
        if let base = b.baseAddress, b.count > 0 { return try body(base.assumingMemoryBound(to: UInt8.self), b.count) }
        var zero: UInt8 = 0
        return try withUnsafePointer(to: &zero) { try body($0, 0) }
    }
}
