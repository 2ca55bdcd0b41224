import Foundation
import VaultCrypto

/// The policy in force: signed versions in vault.db (design: Policy language).
extension Vault {
    /// What the chair signs for a policy version: the vault, the version, the hash of the text
    /// and when it was applied (every column, so no byte of the row can change unnoticed).
    static func policySignedBytes(vaultID: String, version: Int, sha256: [UInt8], appliedAt: String) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/policy/v1")
        e.append(vaultID)
        e.append(Int64(version))
        e.append(sha256)
        e.append(appliedAt)
        return e.bytes
    }

    /// Stores `set` as version `version`, signed by the chair. Call inside a transaction.
    func storePolicy(_ set: PolicySet, version: Int, chairKey: Curve25519.Signing.PrivateKey) throws {
        let appliedAt = Timestamp.now()
        let sig = try chairKey.signature(for: Self.policySignedBytes(vaultID: id, version: version, sha256: set.sha256, appliedAt: appliedAt))
        try database.prepare("INSERT INTO policies (version, source, sha256, applied_at, chair_sig) VALUES (?, ?, ?, ?, ?)")
            .bind(version, set.source, set.sha256, appliedAt, sig).run()
    }

    /// A stored policy version with its metadata.
    public struct PolicyVersion: Sendable {
        public let version: Int
        public let set: PolicySet
        public let appliedAt: String
    }

    /// The newest policy version, after checking the chair's signature and the hash. Any
    /// mismatch is an integrity error: no decision is ever made under an unverified policy.
    public func policyInForce(chairKey: Curve25519.Signing.PublicKey) throws -> PolicyVersion {
        let s = try database.prepare("SELECT version, source, sha256, applied_at, chair_sig FROM policies ORDER BY version DESC LIMIT 1")
        guard try s.step() else { throw VaultError.integrity("vault.db holds no policy") }
        let version = s.int(0), source = s.text(1), hash = s.blob(2)
        guard SHA256.hash(data: Array(source.utf8)) == hash,
              chairKey.isValidSignature(s.blob(4), for: Self.policySignedBytes(vaultID: id, version: version, sha256: hash, appliedAt: s.text(3))) else {
            throw VaultError.integrity("policy version \(version) does not match the chair's signature")
        }
        do {
            return PolicyVersion(version: version, set: try PolicySet(source: source, fileName: "policy version \(version)"), appliedAt: s.text(3))
        } catch {
            throw VaultError.integrity("the stored policy version \(version) does not load")
        }
    }

    /// Asks the policy in force. A denial is recorded (signed by the actor) and thrown as
    /// `.denied` with the determining ids; an allow is returned for the caller to record in
    /// the same transaction as its effect.
    public func authorize(_ request: PolicyRequest, actor: Actor, target: String,
                          details: [String: JSONValue] = [:]) throws -> PolicyDecision {
        try authorize([request], actor: actor, target: target, details: details)
    }

    /// Several requests of one command (a batch's places) under one load of the policy: all
    /// must be allowed. The first denial is recorded and thrown; otherwise the last decision is
    /// returned (they share the policy hash; the determining ids are merged).
    /// `policy`: the verified policy in force, when the caller has already loaded it.
    public func authorize(_ requests: [PolicyRequest], actor: Actor, target: String,
                          details: [String: JSONValue] = [:], policy: PolicySet? = nil) throws -> PolicyDecision {
        precondition(!requests.isEmpty)
        let set = try policy ?? policyInForce(chairKey: actor.chairKey).set
        var determining = Set<String>()
        var last: PolicyDecision?
        // Decisions depend only on what the statements read: memoise on those resource
        // attributes when principal, action and context are those of the first request.
        let first = requests[0]
        let keys = set.readsResourceAttributes.map { $0.sorted() }
        var memo: [[PolicyValue?]: PolicyDecision] = [:]
        for request in requests {
            let memoKey: [PolicyValue?]? = keys.flatMap { keys in
                request.principal == first.principal && request.action == first.action && request.context == first.context
                    ? keys.map { request.resource[$0] } : nil
            }
            let decision: PolicyDecision
            if let memoKey, let known = memo[memoKey] {
                decision = known
            } else {
                decision = set.evaluate(request)
                if let memoKey { memo[memoKey] = decision }
            }
            if !decision.allowed {
                try recordAttempt(AuditRecord(actor: actor, action: request.action, target: target, decision: decision, details: details),
                                  signer: actor.keys.signing)
                throw VaultError.denied(policyIDs: decision.determining)
            }
            determining.formUnion(decision.determining)
            last = decision
        }
        return PolicyDecision(allowed: true, determining: determining.sorted(), errors: last!.errors,
                              policySHA256: last!.policySHA256, traces: [])
    }

    /// The request attributes of an authenticated principal.
    public static func attributes(of p: Principal) -> PolicyRequest.PrincipalAttributes {
        .init(id: p.id.rawValue, role: p.role.rawValue, conflicts: p.conflicts)
    }
}

extension PolicyLoadError {
    /// As a VaultError (65), one located diagnostic per line.
    public var vaultError: VaultError {
        .invalidData(diagnostics.map(\.description).joined(separator: "\n"))
    }
}

extension PolicySet {
    /// A policy file's bytes as the commands load them: UTF-8 text, parsed and validated. Any
    /// problem is one VaultError (65) listing every located diagnostic.
    public static func load(_ bytes: [UInt8], fileName: String) throws(VaultError) -> PolicySet {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw VaultError.invalidData("\(fileName) is not UTF-8 text") }
        do { return try PolicySet(source: text, fileName: fileName) } catch { throw error.vaultError }
    }
}

// MARK: - The policy commands' core

extension Vault {
    /// The chair's signing key as vault.db records it, after checking the chair's record is
    /// signed by that same key. For read-only commands of people without a pinned key; it
    /// catches damage, not a forger who rewrote the whole record (pinning does that).
    public func recordedChairKey() throws -> Curve25519.Signing.PublicKey {
        let chair = try chairID()
        let s = try database.prepare("SELECT ed25519_pub FROM principals WHERE id = ?").bind(chair.rawValue)
        guard try s.step(), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: s.blob(0)) else {
            throw VaultError.integrity("vault.db has no valid record for its chair \(chair)")
        }
        _ = try principal(chair, verifiedWith: key)
        return key
    }

    /// `policy apply`: decided under the policy in force, then the new version and its audit
    /// entry are written in one transaction. Returns the new version number.
    public func applyPolicy(_ set: PolicySet, actor: Actor) throws -> Int {
        let current = try policyInForce(chairKey: actor.chairKey)
        let version = current.version + 1
        let target = "policy/v\(version)"
        let details: [String: JSONValue] = ["version": .integer(Int64(version)), "new_sha256": .string(set.sha256Hex)]
        let decision = try authorize(PolicyRequest(principal: Self.attributes(of: actor.principal), action: "policy.apply"),
                                     actor: actor, target: target, details: details)
        guard actor.principal.role == .chair else {
            // Only the chair's key can sign a policy that others will verify.
            try recordAttempt(AuditRecord(actor: actor, action: "policy.apply", target: target, decision: decision, outcome: .failed,
                                          details: ["reason": .string("only the chair signs policies")]), signer: actor.keys.signing)
            throw VaultError.permission("only the chair can sign a policy; \(actor.id) is \(actor.principal.role.rawValue)")
        }
        try database.transaction {
            try storePolicy(set, version: version, chairKey: actor.keys.signing)
            try appendAudit(AuditRecord(actor: actor, action: "policy.apply", target: target, decision: decision, details: details),
                            signer: actor.keys.signing)
        }
        return version
    }

    /// `policy show`: the version in force, verified against the recorded chair key; the read
    /// is audited (unauthenticated, under the claimed id if any).
    public func showPolicy(claimedActor: String?) throws -> PolicyVersion {
        let current = try recordingFailure(actor: claimedActor ?? "anonymous", action: "policy.show", target: "policy") {
            try policyInForce(chairKey: try recordedChairKey())
        }
        try recordAttempt(AuditRecord(actor: claimedActor ?? "anonymous", authenticated: false, action: "policy.show",
                                      target: "policy/v\(current.version)", policySHA256: current.set.sha256Hex), signer: nil)
        return current
    }

    /// `policy explain`: the decision for `actor`'s enrolled role and conflicts, with the round's
    /// state and threshold from the vault. Nothing is decrypted; the question is audited.
    public func explain(actor pid: PrincipalID, action: String, round: String?, resource: [String: PolicyValue],
                        context: [String: PolicyValue]) throws -> PolicyDecision {
        let decision = try recordingFailure(actor: pid.rawValue, action: "policy.explain", target: action) {
            guard PolicySchema.actions.contains(action) else {
                throw VaultError.usage("unknown action \"\(action)\" (actions: \(PolicySchema.actions.joined(separator: ", ")))")
            }
            let chairKey = try recordedChairKey()
            let principal = try self.principal(pid, verifiedWith: chairKey)
            var resource = resource
            if let round { resource["round"] = try self.round(round, verifiedWith: chairKey).policyAttributes }
            let current = try policyInForce(chairKey: chairKey)
            return current.set.evaluate(PolicyRequest(principal: Self.attributes(of: principal), action: action,
                                                      resource: resource, context: context))
        }
        try recordAttempt(AuditRecord(actor: pid.rawValue, authenticated: false, action: "policy.explain", target: action,
                                      decision: decision.allowed ? .allow : .deny, policies: decision.determining,
                                      policySHA256: decision.policySHA256), signer: nil)
        return decision
    }
}
