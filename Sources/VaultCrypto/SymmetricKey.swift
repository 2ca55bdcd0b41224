import Foundation
/// A secret symmetric key (AES-256-GCM key, HMAC key, HKDF PRK), wiped when released.
public struct SymmetricKey: Sendable {
    public let bytes: SecureBytes

    public init(data: some ContiguousBytes) { bytes = SecureBytes(data) }
    public init(_ bytes: SecureBytes) { self.bytes = bytes }

    /// A fresh random key of `byteCount` bytes (default 32: AES-256).
    public init(randomByteCount byteCount: Int = 32) { bytes = .random(count: byteCount) }

    public var byteCount: Int { bytes.count }
}
