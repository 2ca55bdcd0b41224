import Foundation
import VaultCrypto

/// An opaque principal handle such as `chair`, `cm-1` or `ev-7f3a9c` — never a real name.
/// Ids name files (`Keys/<id>.key`), so they are restricted to a safe alphabet: lower-case
/// letters, digits, `-`, `_` and `.`, 1 to 64 characters, starting with a letter or digit.
public struct PrincipalID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) throws {
        guard Self.isValid(rawValue) else {
            throw VaultError.usage("\"\(rawValue.prefix(64))\" is not a valid id: use 1-64 lower-case letters, digits, '-', '_' or '.', starting with a letter or digit")
        }
        self.rawValue = rawValue
    }

    static func isValid(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard (1...64).contains(u.count), let first = u.first, isAlnum(first) else { return false }
        return u.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    static func isAlnum(_ c: UInt8) -> Bool { (97...122).contains(c) || (48...57).contains(c) }

    /// A fresh opaque id with a role prefix, e.g. `ev-7f3a9c`.
    public static func random(prefix: String) -> PrincipalID {
        try! PrincipalID(prefix + "-" + Hex.encode(SecureRandom.bytes(count: 3)))
    }

    public var description: String { rawValue }
    public static func < (a: PrincipalID, b: PrincipalID) -> Bool { a.rawValue < b.rawValue }
}

/// The four roles of design: Roles.
public enum Role: String, Sendable, CaseIterable, Codable {
    case evaluator, chair, committee, auditor
}

/// A principal as stored in vault.db (design: Concepts): id, role, public keys, encrypted real identity,
/// conflicts (team ids), enabled — all covered by the chair's signature.
public struct Principal: Sendable, Equatable {
    public let id: PrincipalID
    public let role: Role
    public let publicKeys: PublicKeys
    /// The real identity, AES-256-GCM under the vault identity key (nil when none was given).
    public let identityCiphertext: [UInt8]?
    public let conflicts: [String]
    public let enabled: Bool
    /// Incremented on every change, so an old signed version cannot be replayed over a newer one.
    public let version: Int

    public init(id: PrincipalID, role: Role, publicKeys: PublicKeys, identityCiphertext: [UInt8]?,
                conflicts: [String], enabled: Bool, version: Int) {
        self.id = id
        self.role = role
        self.publicKeys = publicKeys
        self.identityCiphertext = identityCiphertext
        self.conflicts = Array(Set(conflicts)).sorted()
        self.enabled = enabled
        self.version = version
    }

    /// The bytes the chair signs: every field, bound to the vault.
    public func signedBytes(vaultID: String) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/principal/v1")
        e.append(vaultID)
        e.append(id.rawValue)
        e.append(role.rawValue)
        e.append(publicKeys.agreement.rawRepresentation)
        e.append(publicKeys.signing.rawRepresentation)
        e.append(identityCiphertext ?? [])
        e.append(Int64(identityCiphertext == nil ? 0 : 1))
        e.append(Int64(conflicts.count))
        for c in conflicts { e.append(c) }
        e.append(Int64(enabled ? 1 : 0))
        e.append(Int64(version))
        return e.bytes
    }
}
