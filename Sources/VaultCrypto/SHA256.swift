import Foundation
import COpenSSL

/// SHA-256 through EVP_Digest.
public enum SHA256 {
    public static let byteCount = 32

    /// One-shot digest.
    public static func hash(data: some ContiguousBytes) -> [UInt8] {
        var hasher = SHA256.Hasher()
        hasher.update(data: data)
        return hasher.finalize()
    }

    /// Incremental hashing (EVP_MD_CTX), for streams such as the audit log and batch digests.
    public struct Hasher: ~Copyable {
        private let ctx: OpaquePointer

        public init() {
            guard let ctx = EVP_MD_CTX_new(), EVP_DigestInit_ex(ctx, evalvault_sha256(), nil) == 1 else {
                fatalError("EVP_DigestInit_ex(SHA-256) failed")
            }
            self.ctx = ctx
        }

        public mutating func update(data: some ContiguousBytes) {
            data.withUnsafeBytes { buf in
                if buf.count > 0 { _ = EVP_DigestUpdate(ctx, buf.baseAddress, buf.count) }
            }
        }

        /// Writes the digest of everything so far into `out` (32 bytes) and starts over, so one
        /// hasher (one OpenSSL context) serves many short messages in a hot loop.
        public mutating func finalizeAndReset(into out: UnsafeMutableRawBufferPointer) {
            precondition(out.count == 32)
            var len: UInt32 = 0
            guard EVP_DigestFinal_ex(ctx, out.bindMemory(to: UInt8.self).baseAddress, &len) == 1, len == 32,
                  EVP_DigestInit_ex(ctx, nil, nil) == 1 else { fatalError("EVP_DigestFinal_ex failed") }
        }

        public consuming func finalize() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 32)
            var len: UInt32 = 0
            guard EVP_DigestFinal_ex(ctx, &out, &len) == 1, len == 32 else { fatalError("EVP_DigestFinal_ex failed") }
            return out
        }

        deinit { EVP_MD_CTX_free(ctx) }
    }
}

/// HMAC-SHA256 through EVP_MAC.
public enum HMAC {
    public static func authenticationCode(for message: some ContiguousBytes, using key: SymmetricKey) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let ok = key.bytes.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                evalvault_hmac_sha256(k.baseAddress?.assumingMemoryBound(to: UInt8.self), k.count,
                                      m.baseAddress?.assumingMemoryBound(to: UInt8.self), m.count, &out)
            }
        }
        guard ok == 1 else { fatalError("HMAC-SHA256 failed inside OpenSSL") }
        return out
    }

    /// Constant-time check of a MAC.
    public static func isValidAuthenticationCode(_ mac: some ContiguousBytes, authenticating message: some ContiguousBytes,
                                                 using key: SymmetricKey) -> Bool {
        ConstantTime.equals(authenticationCode(for: message, using: key), mac)
    }
}
