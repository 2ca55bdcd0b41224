import Foundation
import COpenSSL

/// scrypt (RFC 7914) through EVP_PBE_scrypt, for passphrase-protected key files.
public enum Scrypt {
    /// Cost parameters. They are stored beside the salt in every key file, so they are checked
    /// here: a foreign or edited file must not be able to make us allocate gigabytes.
    public struct Parameters: Sendable, Equatable {
        public let log2N: Int
        public let r: Int
        public let p: Int

        /// design: Cryptography default: N = 2^17, r = 8, p = 1 (about 128 MiB and a few hundred ms).
        public static let interactive = try! Parameters(log2N: 17, r: 8, p: 1)

        /// The accepted range of log2 N. 10 is for tests and the demo only.
        public static let log2NRange = 10...20

        public init(log2N: Int, r: Int = 8, p: Int = 1) throws {
            guard Parameters.log2NRange.contains(log2N) else {
                throw CryptoError.invalidParameter("scrypt log2 N must be \(Parameters.log2NRange.lowerBound)...\(Parameters.log2NRange.upperBound)")
            }
            guard (1...16).contains(r), (1...4).contains(p) else {
                throw CryptoError.invalidParameter("scrypt r must be 1...16 and p 1...4")
            }
            guard 128 * r * (1 << log2N) <= 1 << 30 else { throw CryptoError.invalidParameter("scrypt memory above 1 GiB") }
            self.log2N = log2N; self.r = r; self.p = p
        }

        /// Parameters used only by the RFC 7914 known-answer test (N = 16, outside the accepted range).
        @_spi(KnownAnswerTests) public init(unchecked log2N: Int, r: Int, p: Int) {
            self.log2N = log2N; self.r = r; self.p = p
        }
    }

    /// Derives `outputByteCount` bytes from a passphrase and salt.
    public static func deriveKey(passphrase: some ContiguousBytes, salt: some ContiguousBytes,
                                 parameters: Parameters, outputByteCount: Int = 32) throws -> SecureBytes {
        let n = UInt64(1) << UInt64(parameters.log2N)
        let maxmem = UInt64(128 * parameters.r) * (n + UInt64(parameters.p) + 2) + (1 << 20)
        return try SecureBytes(count: outputByteCount) { out in
            let ok = withBytePointer(passphrase) { pw, pwCount in
                withBytePointer(salt) { s, sCount in
                    EVP_PBE_scrypt(UnsafeRawPointer(pw).assumingMemoryBound(to: CChar.self), pwCount, s, sCount,
                                   n, UInt64(parameters.r), UInt64(parameters.p), maxmem,
                                   out.baseAddress!.assumingMemoryBound(to: UInt8.self), outputByteCount)
                }
            }
            if ok != 1 { ERR_clear_error(); throw CryptoError.openSSL("scrypt") }
        }
    }
}
