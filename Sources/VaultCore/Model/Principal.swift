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
/// conflicts (team ids) and the rounds a later-declared conflict does not reach, enabled — all
/// covered by the chair's signature.
public struct Principal: Sendable, Equatable {
    public let id: PrincipalID
    public let role: Role
    public let publicKeys: PublicKeys
    /// The real identity, AES-256-GCM under the vault identity key (nil when none was given).
    public let identityCiphertext: [UInt8]?
    public let conflicts: [String]
    /// For a conflict declared after the evaluator had sealed into a round that names the team:
    /// team → those rounds (open or closed then). A reveal of such a round does not hold the
    /// batches against that conflict: nobody can tell without the round key whether they scored
    /// the team, and a closed round's result must not change (design: Concepts, "Conflicts").
    public let conflictExemptions: [String: [String]]
    public let enabled: Bool
    /// Incremented on every change, so an old signed version cannot be replayed over a newer one.
    public let version: Int

    public init(id: PrincipalID, role: Role, publicKeys: PublicKeys, identityCiphertext: [UInt8]?,
                conflicts: [String], conflictExemptions: [String: [String]] = [:], enabled: Bool, version: Int) {
        self.id = id
        self.role = role
        self.publicKeys = publicKeys
        self.identityCiphertext = identityCiphertext
        self.conflicts = Array(Set(conflicts)).sorted()
        // Only for teams still in conflict, each list sorted and without repeats, none empty.
        var exemptions: [String: [String]] = [:]
        for (team, rounds) in conflictExemptions where self.conflicts.contains(team) && !rounds.isEmpty {
            exemptions[team] = Array(Set(rounds)).sorted()
        }
        self.conflictExemptions = exemptions
        self.enabled = enabled
        self.version = version
    }

    /// The conflicts a reveal of `round` holds this evaluator's batches to: every declared
    /// conflict except those declared after it had sealed into that round.
    public func conflicts(applyingTo round: String) -> [String] {
        conflicts.filter { !(conflictExemptions[$0]?.contains(round) ?? false) }
    }

    /// The same principal with other conflicts (one version higher).
    func withConflicts(_ conflicts: [String], exemptions: [String: [String]]) -> Principal {
        Principal(id: id, role: role, publicKeys: publicKeys, identityCiphertext: identityCiphertext, conflicts: conflicts,
                  conflictExemptions: exemptions, enabled: enabled, version: version + 1)
    }

    /// The same principal enabled or disabled (one version higher).
    func withEnabled(_ enabled: Bool) -> Principal {
        Principal(id: id, role: role, publicKeys: publicKeys, identityCiphertext: identityCiphertext, conflicts: conflicts,
                  conflictExemptions: conflictExemptions, enabled: enabled, version: version + 1)
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
        // Exemptions only when there are any, so a record without them signs as it always has.
        let exempt = conflictExemptions.keys.sorted().flatMap { team in conflictExemptions[team]!.map { (team, $0) } }
        if !exempt.isEmpty {
            e.append(Int64(exempt.count))
            for (team, round) in exempt { e.append(team); e.append(round) }
        }
        return e.bytes
    }
}
