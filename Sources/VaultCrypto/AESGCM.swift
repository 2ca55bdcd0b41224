import Foundation
import COpenSSL

/// AES-256-GCM with 96-bit nonces and 128-bit tags, through EVP_CIPHER (SPEC §5).
public enum AES {
    public enum GCM {
        public static let nonceByteCount = 12
        public static let tagByteCount = 16

        /// A 96-bit nonce. `Nonce()` is random; callers that derive nonces (HPKE) build them from bytes.
        public struct Nonce: Sendable, Equatable {
            public let bytes: [UInt8]

            public init() { bytes = SecureRandom.bytes(count: GCM.nonceByteCount) }

            public init(data: some ContiguousBytes) throws {
                let b = data.withUnsafeBytes { Array($0) }
                guard b.count == GCM.nonceByteCount else { throw CryptoError.invalidParameter("AES-GCM nonce must be 12 bytes") }
                bytes = b
            }
        }

        /// Nonce, ciphertext and tag; `combined` is their concatenation, the form stored on disk.
        public struct SealedBox: Sendable, Equatable {
            public let nonce: Nonce
            public let ciphertext: [UInt8]
            public let tag: [UInt8]

            public init(nonce: Nonce, ciphertext: [UInt8], tag: [UInt8]) throws {
                guard tag.count == GCM.tagByteCount else { throw CryptoError.invalidParameter("AES-GCM tag must be 16 bytes") }
                self.nonce = nonce
                self.ciphertext = ciphertext
                self.tag = tag
            }

            /// Parses nonce ‖ ciphertext ‖ tag.
            public init(combined: some ContiguousBytes) throws {
                let b = combined.withUnsafeBytes { Array($0) }
                guard b.count >= GCM.nonceByteCount + GCM.tagByteCount else {
                    throw CryptoError.invalidParameter("AES-GCM sealed box is too short")
                }
                try self.init(nonce: Nonce(data: b[0..<GCM.nonceByteCount]),
                              ciphertext: Array(b[GCM.nonceByteCount..<(b.count - GCM.tagByteCount)]),
                              tag: Array(b[(b.count - GCM.tagByteCount)...]))
            }

            public var combined: [UInt8] { nonce.bytes + ciphertext + tag }
        }

        /// Encrypts and authenticates `message` and `aad` under a 256-bit key.
        /// Callers must never reuse a (key, nonce) pair; a random nonce is the default for that reason.
        public static func seal(_ message: some ContiguousBytes, using key: SymmetricKey, nonce: Nonce = Nonce(),
                                authenticating aad: some ContiguousBytes = [UInt8]()) throws -> SealedBox {
            guard key.byteCount == 32 else { throw CryptoError.invalidParameter("AES-256-GCM key must be 32 bytes") }
            guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL("EVP_CIPHER_CTX_new") }
            defer { EVP_CIPHER_CTX_free(ctx) }
            let count = message.withUnsafeBytes { $0.count }
            var ciphertext = [UInt8](repeating: 0, count: count)
            var tag = [UInt8](repeating: 0, count: tagByteCount)
            let ok: Bool = key.bytes.withUnsafeBytes { k in
                nonce.bytes.withUnsafeBytes { n in
                    guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, k.bindMemory(to: UInt8.self).baseAddress,
                                             n.bindMemory(to: UInt8.self).baseAddress) == 1 else { return false }
                    var outLen: Int32 = 0
                    let aadOK = aad.withUnsafeBytes { a -> Bool in
                        a.count == 0 || EVP_EncryptUpdate(ctx, nil, &outLen, a.bindMemory(to: UInt8.self).baseAddress, Int32(a.count)) == 1
                    }
                    guard aadOK else { return false }
                    let msgOK = message.withUnsafeBytes { m -> Bool in
                        m.count == 0 || ciphertext.withUnsafeMutableBufferPointer { c in
                            EVP_EncryptUpdate(ctx, c.baseAddress, &outLen, m.bindMemory(to: UInt8.self).baseAddress, Int32(m.count)) == 1
                        }
                    }
                    guard msgOK else { return false }
                    var finalLen: Int32 = 0
                    var scratch = [UInt8](repeating: 0, count: 16)
                    guard EVP_EncryptFinal_ex(ctx, &scratch, &finalLen) == 1 else { return false }
                    return evalvault_gcm_get_tag(ctx, &tag) == 1
                }
            }
            guard ok else { ERR_clear_error(); throw CryptoError.openSSL("AES-GCM seal") }
            return try SealedBox(nonce: nonce, ciphertext: ciphertext, tag: tag)
        }

        /// Verifies and decrypts. Any change to the nonce, ciphertext, tag, AAD or key gives
        /// `authenticationFailure` and no plaintext (the output buffer is wiped).
        public static func open(_ box: SealedBox, using key: SymmetricKey,
                                authenticating aad: some ContiguousBytes = [UInt8]()) throws -> SecureBytes {
            guard key.byteCount == 32 else { throw CryptoError.invalidParameter("AES-256-GCM key must be 32 bytes") }
            guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL("EVP_CIPHER_CTX_new") }
            defer { EVP_CIPHER_CTX_free(ctx) }
            var tag = box.tag
            return try SecureBytes(count: box.ciphertext.count) { out in
                let ok: Bool = key.bytes.withUnsafeBytes { k in
                    box.nonce.bytes.withUnsafeBytes { n in
                        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, k.bindMemory(to: UInt8.self).baseAddress,
                                                 n.bindMemory(to: UInt8.self).baseAddress) == 1 else { return false }
                        var outLen: Int32 = 0
                        let aadOK = aad.withUnsafeBytes { a -> Bool in
                            a.count == 0 || EVP_DecryptUpdate(ctx, nil, &outLen, a.bindMemory(to: UInt8.self).baseAddress, Int32(a.count)) == 1
                        }
                        guard aadOK else { return false }
                        if !box.ciphertext.isEmpty {
                            guard box.ciphertext.withUnsafeBufferPointer({ c in
                                EVP_DecryptUpdate(ctx, out.bindMemory(to: UInt8.self).baseAddress, &outLen, c.baseAddress, Int32(c.count))
                            }) == 1 else { return false }
                        }
                        guard evalvault_gcm_set_tag(ctx, &tag) == 1 else { return false }
                        var finalLen: Int32 = 0
                        var scratch = [UInt8](repeating: 0, count: 16)
                        return EVP_DecryptFinal_ex(ctx, &scratch, &finalLen) == 1
                    }
                }
                if !ok {
                    ERR_clear_error()
                    OPENSSL_cleanse(out.baseAddress, out.count)
                    throw CryptoError.authenticationFailure
                }
            }
        }
    }
}
