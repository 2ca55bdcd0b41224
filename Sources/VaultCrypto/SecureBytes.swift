import COpenSSL
import Foundation

/// An immutable byte buffer for secrets (keys, passphrases, decrypted scores).
///
/// The bytes live in one heap allocation that is wiped with `OPENSSL_cleanse` when the last copy
/// goes away. Why: Swift `Array`/`String`/`Data` may be copied and freed without being cleared,
/// leaving secrets in freed memory; this type gives one place where the wipe happens.
public struct SecureBytes: @unchecked Sendable {
    // @unchecked: the storage is written only inside the initialiser and never mutated after.
    private final class Storage {
        let buffer: UnsafeMutableRawBufferPointer
        init(count: Int) {
            buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(count, 1), alignment: 16)
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            self.count = count
        }
        let count: Int
        deinit {
            OPENSSL_cleanse(buffer.baseAddress, buffer.count)
            buffer.deallocate()
        }
    }

    private let storage: Storage

    /// Creates `count` bytes filled by `initializer`. If it throws, the partial buffer is wiped.
    public init(count: Int, initializer: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        precondition(count >= 0)
        storage = Storage(count: count)
        try initializer(UnsafeMutableRawBufferPointer(rebasing: storage.buffer[0..<count]))
    }

    /// Copies bytes into a new secret buffer. The caller remains responsible for wiping the source.
    public init(_ bytes: some ContiguousBytes) {
        let count = bytes.withUnsafeBytes { $0.count }
        self.init(count: count) { dst in
            bytes.withUnsafeBytes { src in
                if let base = src.baseAddress, count > 0 { dst.baseAddress!.copyMemory(from: base, byteCount: count) }
            }
        }
    }

    /// Fresh random bytes from the OpenSSL CSPRNG.
    public static func random(count: Int) -> SecureBytes {
        SecureBytes(count: count) { SecureRandom.fill($0) }
    }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.count == 0 }

    /// Copies a sub-range into a new secret buffer.
    public func slice(_ range: Range<Int>) -> SecureBytes {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        return withUnsafeBytes { src in
            SecureBytes(count: range.count) { dst in
                if range.count > 0 { dst.baseAddress!.copyMemory(from: src.baseAddress! + range.lowerBound, byteCount: range.count) }
            }
        }
    }

    /// Copies the bytes out into an ordinary array. Only for values that stop being secret
    /// (for example a score once it has been counted into an aggregate) or for test code.
    public func unsafeArray() -> [UInt8] { withUnsafeBytes { Array($0) } }

    /// Constant-time equality (CRYPTO_memcmp), so that comparing secrets leaks no timing.
    public func constantTimeEquals(_ other: some ContiguousBytes) -> Bool {
        withUnsafeBytes { a in other.withUnsafeBytes { b in ConstantTime.equals(a, b) } }
    }
}

extension SecureBytes: ContiguousBytes {
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage.buffer[0..<storage.count]))
    }
}

/// Timing-safe helpers.
public enum ConstantTime {
    /// True when both buffers have the same length and bytes; the time does not depend on where they differ.
    public static func equals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        if a.count == 0 { return true }
        return CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
    }

    public static func equals(_ a: some ContiguousBytes, _ b: some ContiguousBytes) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in equals(x, y) } }
    }
}

/// Wipes a mutable byte array in place with OPENSSL_cleanse (for transient copies that could not be avoided).
public func secureWipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
}

/// Wipes a `Data` value in place.
public func secureWipe(_ data: inout Data) {
    data.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
}

/// Wipes raw memory that held secrets (a buffer of plaintext scores) with OPENSSL_cleanse.
public func secureWipe(_ buffer: UnsafeMutableRawBufferPointer) {
    if let base = buffer.baseAddress { OPENSSL_cleanse(base, buffer.count) }
}
