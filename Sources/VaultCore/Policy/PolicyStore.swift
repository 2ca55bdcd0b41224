import Foundation
import VaultCrypto

/// Deciding under the policy that governs an action (design: Policy language); the signed
/// versions themselves are stored and verified by the store (`Store/PolicyRows.swift`).
extension Vault {
    /// A stored policy version with its metadata.
    public struct PolicyVersion: Sendable {
        public let version: Int
        public let set: PolicySet
        public let appliedAt: String
    }

    /// The newest policy version the signed log records, after checking its row against the log,
    /// the chair's signature and the hash. Any mismatch is an integrity error: no decision is
    /// ever made under an unverified policy, and deleting the newest row cannot bring back an
    /// older one.
    public func policyInForce(chairKey: Curve25519.Signing.PublicKey) throws -> PolicyVersion {
        try policy(version: log.policyVersion, chairKey: chairKey)
    }

    /// The policy a round is governed by: the version it opened under, for good (a later policy
    /// governs later rounds); a draft round is governed by the policy in force.
    public func policy(for round: Round, chairKey: Curve25519.Signing.PublicKey) throws -> PolicyVersion {
        try policy(version: round.policyVersion ?? log.policyVersion, chairKey: chairKey)
    }

    /// Asks the policy in force. A denial is recorded (signed by the actor) and thrown as
    /// `.denied` with the determining ids and its cause — `reason` when the caller can tell it
    /// exactly, else the round's state or the holders' count when the policy says that is what
    /// decided (`PolicySet.refusalCause`); an allow is returned for the caller to record in the
    /// same transaction as its effect.
    public func authorize(_ request: PolicyRequest, actor: Actor, target: String,
                          details: [String: JSONValue] = [:], policy: PolicySet? = nil, reason: String? = nil) throws -> PolicyDecision {
        try authorize([request], actor: actor, target: target, details: details, policy: policy, reason: reason)
    }

    /// Several requests of one command (a batch's places) under one load of the policy: all
    /// must be allowed. The first denial is recorded and thrown; otherwise the last decision is
    /// returned (they share the policy hash; the determining ids are merged).
    /// `policy`: the verified policy in force, when the caller has already loaded it.
    public func authorize(_ requests: [PolicyRequest], actor: Actor, target: String,
                          details: [String: JSONValue] = [:], policy: PolicySet? = nil, reason: String? = nil) throws -> PolicyDecision {
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
                let cause = reason ?? set.refusalCause(of: request)
                var d = details
                if let cause, d["reason"] == nil { d["reason"] = .string(cause) }
                try recordAttempt(AuditRecord(actor: actor, action: request.action, target: target, decision: decision, details: d),
                                  signer: actor.keys.signing)
                throw VaultError.denied(policyIDs: decision.determining, reason: cause)
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
        try write {
            guard log.policyVersion + 1 == version else { throw VaultError.usage("another policy was applied meanwhile; try again") }
            let record = try storePolicy(set, version: version, chairKey: actor.keys.signing)
            try appendAudit(AuditRecord(actor: actor, action: "policy.apply", target: target, decision: decision, details: details),
                            signer: actor.keys.signing, objects: [record])
        }
        return version
    }

    /// `policy show`: the version in force, verified against the recorded chair key; the read
    /// is audited (unauthenticated, under the claimed id if any).
    /// With `round`, the version that governs that round (the one it opened under).
    public func showPolicy(claimedActor: String?, round roundID: String? = nil) throws -> PolicyVersion {
        let current = try recordingFailure(actor: claimedActor ?? "anonymous", action: "policy.show", target: roundID.map { "round/\($0)" } ?? "policy") {
            guard let roundID else { return try policyInForce(chairKey: try chairKey) }
            return try policy(for: try round(roundID, verifiedWith: try chairKey), chairKey: try chairKey)
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
            let chairKey = try chairKey
            let principal = try self.principal(pid, verifiedWith: chairKey)
            var resource = resource
            var current = try policyInForce(chairKey: chairKey)
            if let round {
                let r = try self.round(round, verifiedWith: chairKey)
                resource["round"] = r.policyAttributes
                current = try policy(for: r, chairKey: chairKey)
            }
            return current.set.evaluate(PolicyRequest(principal: Self.attributes(of: principal), action: action,
                                                      resource: resource, context: context))
        }
        try recordAttempt(AuditRecord(actor: pid.rawValue, authenticated: false, action: "policy.explain", target: action,
                                      decision: decision.allowed ? .allow : .deny, policies: decision.determining,
                                      policySHA256: decision.policySHA256), signer: nil)
        return decision
    }
}
