import Foundation
import VaultCrypto

/// A principal's two public keys: X25519 (things are wrapped to it) and Ed25519 (it signs).
public struct PublicKeys: Sendable, Equatable {
    public let agreement: Curve25519.KeyAgreement.PublicKey
    public let signing: Curve25519.Signing.PublicKey

    public init(agreement: Curve25519.KeyAgreement.PublicKey, signing: Curve25519.Signing.PublicKey) {
        self.agreement = agreement
        self.signing = signing
    }

    public init(agreementRaw: [UInt8], signingRaw: [UInt8]) throws {
        do {
            self.init(agreement: try .init(rawRepresentation: agreementRaw), signing: try .init(rawRepresentation: signingRaw))
        } catch {
            throw VaultError.invalidData("a public key is not 32 bytes")
        }
    }

    /// design: Cryptography: the first 16 bytes of SHA-256 over both public keys, in hex groups.
    public var fingerprint: Fingerprint {
        Fingerprint(bytes: Array(SHA256.hash(data: agreement.rawRepresentation + signing.rawRepresentation).prefix(16)))
    }

    static let pubHeader = "evalvault-pub/1"

    /// The `.pub` file: a header line, both keys in base64 and the fingerprint (checked on read,
    /// so a hand-edited or truncated `.pub` is refused rather than silently enrolled).
    public var fileContents: String {
        """
        \(Self.pubHeader)
        x25519: \(Base64.encode(agreement.rawRepresentation))
        ed25519: \(Base64.encode(signing.rawRepresentation))
        fingerprint: \(fingerprint)

        """
    }

    public init(fileContents text: String, path: String) throws {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func field(_ index: Int, _ name: String) throws -> String {
            guard index < lines.count, lines[index].hasPrefix(name + ": ") else {
                throw VaultError.invalidData("\(path) is not an evalvault public key file (line \(index + 1) should start with \"\(name):\")")
            }
            return String(lines[index].dropFirst(name.count + 2))
        }
        guard lines.first == Self.pubHeader else {
            throw VaultError.invalidData("\(path) is not an evalvault public key file (expected \"\(Self.pubHeader)\" on line 1)")
        }
        guard let x = Base64.decode(try field(1, "x25519")), x.count == 32,
              let e = Base64.decode(try field(2, "ed25519")), e.count == 32 else {
            throw VaultError.invalidData("\(path) holds a malformed public key")
        }
        try self.init(agreementRaw: x, signingRaw: e)
        guard try field(3, "fingerprint") == fingerprint.description else {
            throw VaultError.integrity("\(path): the fingerprint does not match the keys; the file was edited or damaged")
        }
    }

    public static func load(path: String) throws -> PublicKeys {
        let bytes = try Files.read(path, what: "public key file")
        return try PublicKeys(fileContents: String(decoding: bytes, as: UTF8.self), path: path)
    }
}

/// 16 bytes shown as eight groups of four hex digits, e.g. `7f3a-9c12-…`.
public struct Fingerprint: Sendable, Equatable, CustomStringConvertible {
    public let bytes: [UInt8]
    public var description: String {
        stride(from: 0, to: bytes.count, by: 2).map { Hex.encode(bytes[$0..<min($0 + 2, bytes.count)]) }.joined(separator: "-")
    }
}

/// A principal's private keys, held only in memory after a key file is opened.
public struct PrivateKeys: Sendable {
    public let agreement: Curve25519.KeyAgreement.PrivateKey
    public let signing: Curve25519.Signing.PrivateKey

    public init(agreement: Curve25519.KeyAgreement.PrivateKey, signing: Curve25519.Signing.PrivateKey) {
        self.agreement = agreement
        self.signing = signing
    }

    /// A fresh pair from OpenSSL's key generators.
    public static func generate() -> PrivateKeys {
        PrivateKeys(agreement: .init(), signing: .init())
    }

    public var publicKeys: PublicKeys { PublicKeys(agreement: agreement.publicKey, signing: signing.publicKey) }
}
