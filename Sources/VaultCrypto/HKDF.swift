import Foundation
import COpenSSL

/// HKDF-SHA256 (RFC 5869) on OpenSSL's HMAC (COpenSSL/shim.h), with extract and expand exposed separately
/// because HPKE's labelled key schedule (RFC 9180 §4) needs them apart.
public enum HKDF {
    /// HKDF-Extract(salt, IKM) → PRK (32 bytes).
    public static func extract(inputKeyMaterial ikm: some ContiguousBytes, salt: some ContiguousBytes) -> SymmetricKey {
        let prk = try! SecureBytes(count: 32) { out in
            let ok = ikm.withUnsafeBytes { k in
                salt.withUnsafeBytes { s in
                    evalvault_hkdf_sha256(Int32(EVP_KDF_HKDF_MODE_EXTRACT_ONLY),
                                          k.baseAddress?.assumingMemoryBound(to: UInt8.self), k.count,
                                          s.baseAddress?.assumingMemoryBound(to: UInt8.self), s.count,
                                          nil, 0, out.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
                }
            }
            if ok != 1 { ERR_clear_error(); throw CryptoError.openSSL("HKDF-Extract") }
        }
        return SymmetricKey(prk)
    }

    /// HKDF-Expand(PRK, info, L). L is limited to 255 × 32 bytes by RFC 5869.
    public static func expand(pseudoRandomKey prk: SymmetricKey, info: some ContiguousBytes,
                              outputByteCount: Int) throws -> SecureBytes {
        guard outputByteCount > 0, outputByteCount <= 255 * 32 else {
            throw CryptoError.invalidParameter("HKDF output length must be 1...8160 bytes")
        }
        guard prk.byteCount >= 32 else { throw CryptoError.invalidParameter("HKDF PRK must be at least 32 bytes") }
        return try SecureBytes(count: outputByteCount) { out in
            let ok = prk.bytes.withUnsafeBytes { k in
                info.withUnsafeBytes { i in
                    evalvault_hkdf_sha256(Int32(EVP_KDF_HKDF_MODE_EXPAND_ONLY),
                                          k.baseAddress?.assumingMemoryBound(to: UInt8.self), k.count, nil, 0,
                                          i.baseAddress?.assumingMemoryBound(to: UInt8.self), i.count,
                                          out.baseAddress!.assumingMemoryBound(to: UInt8.self), outputByteCount)
                }
            }
            if ok != 1 { ERR_clear_error(); throw CryptoError.openSSL("HKDF-Expand") }
        }
    }

    /// Extract then expand.
    public static func deriveKey(inputKeyMaterial ikm: some ContiguousBytes, salt: some ContiguousBytes,
                                 info: some ContiguousBytes, outputByteCount: Int) throws -> SecureBytes {
        try expand(pseudoRandomKey: extract(inputKeyMaterial: ikm, salt: salt), info: info, outputByteCount: outputByteCount)
    }
}
