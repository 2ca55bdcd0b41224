import Foundation
import COpenSSL

/// AES-256-GCM with 96-bit nonces and 128-bit tags, through EVP_CIPHER (design: Cryptography).
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
            let cipher = try KeyedCipher(key: key)
            let count = message.withUnsafeBytes { $0.count }
            var out = [UInt8](repeating: 0, count: count + tagByteCount)
            try message.withUnsafeBytes { m in
                try nonce.bytes.withUnsafeBytes { n in
                    try aad.withUnsafeBytes { a in
                        try out.withUnsafeMutableBytes { try cipher.seal(m, nonce: n, authenticating: a, into: $0) }
                    }
                }
            }
            return try SealedBox(nonce: nonce, ciphertext: Array(out[..<count]), tag: Array(out[count...]))
        }

        /// Verifies and decrypts. Any change to the nonce, ciphertext, tag, AAD or key gives
        /// `authenticationFailure` and no plaintext (the output buffer is wiped).
        public static func open(_ box: SealedBox, using key: SymmetricKey,
                                authenticating aad: some ContiguousBytes = [UInt8]()) throws -> SecureBytes {
            let cipher = try KeyedCipher(key: key)
            let input = box.ciphertext + box.tag
            return try SecureBytes(count: box.ciphertext.count) { out in
                let ok = input.withUnsafeBytes { c in
                    box.nonce.bytes.withUnsafeBytes { n in
                        aad.withUnsafeBytes { a in cipher.open(c, nonce: n, authenticating: a, into: out) }
                    }
                }
                guard ok else { throw CryptoError.authenticationFailure }
            }
        }

        /// One AES-256-GCM key expanded once into an EVP_CIPHER_CTX and kept for many messages.
        ///
        /// Why it exists: bulk sealing and reveals process a million 64-byte messages under one
        /// HPKE key; setting the key up again for each (and allocating a context, a nonce and a
        /// tag array) cost more than the encryption itself. Not thread-safe: each thread makes
        /// its own. The context (holding the key schedule) is wiped by OpenSSL when freed.
        public final class KeyedCipher {
            private let encryptor: OpaquePointer
            private let decryptor: OpaquePointer

            public init(key: SymmetricKey) throws {
                guard key.byteCount == 32 else { throw CryptoError.invalidParameter("AES-256-GCM key must be 32 bytes") }
                guard let e = EVP_CIPHER_CTX_new(), let d = EVP_CIPHER_CTX_new() else { fatalError("EVP_CIPHER_CTX_new failed") }
                encryptor = e
                decryptor = d
                let ok = key.bytes.withUnsafeBytes { k in
                    let kp = k.bindMemory(to: UInt8.self).baseAddress
                    return EVP_EncryptInit_ex(e, evalvault_aes_256_gcm(), nil, kp, nil) == 1
                        && EVP_DecryptInit_ex(d, evalvault_aes_256_gcm(), nil, kp, nil) == 1
                }
                guard ok else { ERR_clear_error(); throw CryptoError.openSSL("AES-GCM key setup") }
            }

            deinit {
                EVP_CIPHER_CTX_free(encryptor)
                EVP_CIPHER_CTX_free(decryptor)
            }

            /// Seals `message` into `out`, which must hold message.count + 16 bytes: ciphertext ‖ tag.
            /// Never reuse a nonce with one key.
            public func seal(_ message: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
                             authenticating aad: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) throws {
                guard nonce.count == nonceByteCount else { throw CryptoError.invalidParameter("AES-GCM nonce must be 12 bytes") }
                guard out.count == message.count + tagByteCount, message.count < Int32.max, aad.count < Int32.max else {
                    throw CryptoError.invalidParameter("AES-GCM output must be the message length + 16")
                }
                let o = out.bindMemory(to: UInt8.self).baseAddress!
                var len: Int32 = 0
                let ok = EVP_EncryptInit_ex(encryptor, nil, nil, nil, nonce.bindMemory(to: UInt8.self).baseAddress) == 1
                    && (aad.isEmpty || EVP_EncryptUpdate(encryptor, nil, &len, aad.bindMemory(to: UInt8.self).baseAddress, Int32(aad.count)) == 1)
                    && (message.isEmpty || EVP_EncryptUpdate(encryptor, o, &len, message.bindMemory(to: UInt8.self).baseAddress, Int32(message.count)) == 1)
                    && EVP_EncryptFinal_ex(encryptor, o + message.count, &len) == 1  // GCM writes nothing here
                    && evalvault_gcm_get_tag(encryptor, o + message.count) == 1
                guard ok else { ERR_clear_error(); throw CryptoError.openSSL("AES-GCM seal") }
            }

            /// Opens ciphertext ‖ tag into `out` (ciphertextAndTag.count − 16 bytes). Returns false,
            /// with `out` wiped, when anything does not authenticate: no unverified plaintext escapes.
            public func open(_ ciphertextAndTag: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
                             authenticating aad: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Bool {
                let count = ciphertextAndTag.count - tagByteCount
                guard count >= 0, out.count == count, nonce.count == nonceByteCount, aad.count < Int32.max, count < Int32.max else { return false }
                let c = ciphertextAndTag.bindMemory(to: UInt8.self).baseAddress!
                let o = out.bindMemory(to: UInt8.self).baseAddress
                var len: Int32 = 0
                var tag: (UInt64, UInt64) = (0, 0)
                withUnsafeMutableBytes(of: &tag) { $0.copyMemory(from: UnsafeRawBufferPointer(start: c + count, count: tagByteCount)) }
                var scratch: (UInt64, UInt64) = (0, 0)
                let ok = EVP_DecryptInit_ex(decryptor, nil, nil, nil, nonce.bindMemory(to: UInt8.self).baseAddress) == 1
                    && (aad.isEmpty || EVP_DecryptUpdate(decryptor, nil, &len, aad.bindMemory(to: UInt8.self).baseAddress, Int32(aad.count)) == 1)
                    && (count == 0 || EVP_DecryptUpdate(decryptor, o, &len, c, Int32(count)) == 1)
                    && withUnsafeMutableBytes(of: &tag, { evalvault_gcm_set_tag(decryptor, $0.bindMemory(to: UInt8.self).baseAddress) }) == 1
                    && withUnsafeMutableBytes(of: &scratch, { EVP_DecryptFinal_ex(decryptor, $0.bindMemory(to: UInt8.self).baseAddress, &len) }) == 1
                if !ok {
                    ERR_clear_error()
                    if count > 0 { OPENSSL_cleanse(out.baseAddress, count) }
                }
                return ok
            }
        }
    }
}
