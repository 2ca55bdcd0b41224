import Foundation
import VaultCrypto

/// Enrolling, disabling and enabling principals (design: Concepts, Command line): chair-signed records, identities
/// encrypted under the vault identity key, every change audited.
extension Vault {
    /// `principal add`: enrols a public key under an opaque id (generated when nil) with a role,
    /// an optional real identity (stored only encrypted) and conflicts. An auditor also receives
    /// the vault identity key, wrapped to it, so it can later unmask identities under policy.
    public func addPrincipal(id requested: PrincipalID?, role: Role, publicKeys: PublicKeys, identity: String?,
                             conflicts: [String], actor: Actor) throws -> Principal {
        let pid = requested ?? PrincipalID.random(prefix: ["evaluator": "ev", "committee": "cm", "auditor": "au", "chair": "ch"][role.rawValue]!)
        let target = "principal/\(pid)"
        let decision = try authorize(PolicyRequest(principal: Self.attributes(of: actor.principal), action: "principal.add",
                                                   resource: ["target": .string(pid.rawValue)]), actor: actor, target: target)
        try requireChair(actor, action: "principal.add", target: target, decision: decision)
        func refuse(_ error: VaultError, _ reason: String) throws -> Never {
            try recordAttempt(AuditRecord(actor: actor, action: "principal.add", target: target, decision: decision, outcome: .failed,
                                          details: ["reason": .string(reason)]), signer: actor.keys.signing)
            throw error
        }
        if try principalRowExists(pid) {
            try refuse(.usage("a principal \(pid) already exists"), "id taken")
        }
        if let holder = try principalID(enrolling: publicKeys) { try refuse(.usage("this public key is already enrolled as \(holder)"), "key reused") }
        if role == .chair { try refuse(.usage("a vault has one chair, made by `evalvault init`"), "second chair") }
        do { _ = try checkConflictTeams(conflicts) } catch let e as VaultError { try refuse(e, "bad conflict") }
        let identityKey = try unwrapIdentityKey(as: actor.id, keys: actor.keys)
        let p = Principal(id: pid, role: role, publicKeys: publicKeys,
                          identityCiphertext: try identity.map { try encryptIdentity($0, of: pid, key: identityKey) },
                          conflicts: conflicts, enabled: true, version: 1)
        try write {
            var objects = [try insert(p, signedBy: actor.keys.signing)]
            if role == .auditor { objects.append(try wrapIdentityKey(identityKey, to: p)) }
            try appendAudit(AuditRecord(actor: actor, action: "principal.add", target: target, decision: decision,
                                        details: ["enrolled": Self.enrolment(p), "conflicts": .integer(Int64(p.conflicts.count)),
                                                  "identity": .bool(identity != nil)]), signer: actor.keys.signing, objects: objects)
        }
        return p
    }

    /// `principal disable`: the record is re-signed with enabled = false and a higher version.
    /// A disabled principal can no longer act from then on; what it did before stands — batches
    /// it sealed while enabled stay counted (the log says it was enabled when it signed them).
    public func disablePrincipal(_ pid: PrincipalID, actor: Actor) throws {
        try setEnabled(pid, false, actor: actor)
    }

    /// `principal enable`: the inverse, audited the same way.
    public func enablePrincipal(_ pid: PrincipalID, actor: Actor) throws {
        try setEnabled(pid, true, actor: actor)
    }

    private func setEnabled(_ pid: PrincipalID, _ enabled: Bool, actor: Actor) throws {
        let action = enabled ? "principal.enable" : "principal.disable"
        let target = "principal/\(pid)"
        let decision = try authorize(PolicyRequest(principal: Self.attributes(of: actor.principal), action: action,
                                                   resource: ["target": .string(pid.rawValue)]), actor: actor, target: target)
        try requireChair(actor, action: action, target: target, decision: decision)
        try write {
            let p = try principal(pid, verifiedWith: actor.chairKey)
            guard p.role != .chair else { throw VaultError.usage("the chair cannot be disabled or enabled") }
            guard p.enabled != enabled else { throw VaultError.usage("principal \(pid) is already \(enabled ? "enabled" : "disabled")") }
            let record = try update(p.withEnabled(enabled), signedBy: actor.keys.signing)
            try appendAudit(AuditRecord(actor: actor, action: action, target: target, decision: decision), signer: actor.keys.signing,
                            objects: [record])
        }
    }

    /// `principal list`: ids, roles, fingerprints, enabled — never identities. Audited.
    public func listPrincipals(claimedActor: String?) throws -> [Principal] {
        try recordingFailure(actor: claimedActor ?? "anonymous", action: "principal.list", target: "principals") {
            let all = try allPrincipals(verifiedWith: try chairKey)
            try recordAttempt(AuditRecord(actor: claimedActor ?? "anonymous", authenticated: false, action: "principal.list",
                                          target: "principals"), signer: nil)
            return all
        }
    }
}

extension Vault {
    /// `identity reveal`: an auditor (by default policy) unmasks one principal's real identity,
    /// giving a reason that goes into the audit log with the request. Returns nil when the
    /// principal was enrolled without an identity.
    public func revealIdentity(of pid: PrincipalID, reason: String, actor: Actor) throws -> SecureBytes? {
        let target = "principal/\(pid)"
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count <= 500 else { throw VaultError.usage("the reason must be at most 500 bytes") }
        let details: [String: JSONValue] = ["reason": .string(trimmed)]
        let decision = try authorize(PolicyRequest(principal: Self.attributes(of: actor.principal), action: "identity.reveal",
                                                   resource: ["target": .string(pid.rawValue)], context: ["reason": .string(trimmed)]),
                                     actor: actor, target: target, details: details)
        let identity: SecureBytes?
        do {
            let p = try principal(pid, verifiedWith: actor.chairKey)
            identity = try decryptIdentity(of: p, key: try unwrapIdentityKey(as: actor.id, keys: actor.keys))
        } catch let error as VaultError {
            try recordAttempt(AuditRecord(actor: actor, action: "identity.reveal", target: target, decision: decision, outcome: .failed,
                                          details: details.merging(["exit_status": .integer(Int64(error.exitStatus.rawValue))]) { $1 }),
                              signer: actor.keys.signing)
            throw error
        }
        try write {
            try appendAudit(AuditRecord(actor: actor, action: "identity.reveal", target: target, decision: decision,
                                        details: details.merging(["had_identity": .bool(identity != nil)]) { $1 }), signer: actor.keys.signing)
        }
        return identity
    }
}
