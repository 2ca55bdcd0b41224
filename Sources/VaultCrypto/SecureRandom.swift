import Foundation
import COpenSSL

/// The OpenSSL CSPRNG (RAND_bytes).
public enum SecureRandom {
    /// Fills `buffer` with random bytes. A CSPRNG failure is unrecoverable: continuing could
    /// produce predictable keys or repeated nonces, so the process stops instead.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard buffer.count > 0 else { return }
        precondition(buffer.count <= Int(Int32.max))
        guard RAND_bytes(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(buffer.count)) == 1 else {
            fatalError("RAND_bytes failed: the system random generator is unavailable")
        }
    }

    /// Random public bytes (nonces, salts, ids).
    public static func bytes(count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { fill($0) }
        return out
    }

    /// A uniformly random integer in `0..<upperBound` (rejection sampling, no modulo bias).
    public static func uniform(_ upperBound: UInt64) -> UInt64 {
        precondition(upperBound > 0)
        let limit = UInt64.max - (UInt64.max % upperBound)
        while true {
            var v: UInt64 = 0
            withUnsafeMutableBytes(of: &v) { fill($0) }
            if v < limit { return v % upperBound }
        }
    }
}

/// The OpenSSL library in use (for benchmark and bug reports).
public enum OpenSSLLibrary {
    public static var version: String { String(cString: OpenSSL_version(OPENSSL_VERSION)) }
}
