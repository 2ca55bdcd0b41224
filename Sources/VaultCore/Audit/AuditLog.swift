import Foundation
import VaultCrypto

/// What an authenticated actor signs for its entry: the entry's leaf hash and the root of the log
/// before it (32 + 32 bytes). Why the root: every signed entry then vouches for the whole history
/// before it, so rewriting any entry in place — a seal turned into an unsigned "failure" — breaks
/// the signature of every signed entry after it, for every verifier, even one that never saw the
/// log before.
public enum AuditSignature {
    public static func message(leaf: [UInt8], rootBefore: [UInt8]) -> [UInt8] { leaf + rootBefore }
}

/// What an audit entry says (design: Audit log). Details hold counts, digests and ids — never a score, a
/// comment, a passphrase or a real name; callers pass only such values.
public struct AuditRecord: Sendable {
    public enum Decision: String, Sendable { case allow, deny, none }
    public enum Outcome: String, Sendable { case ok, denied, failed }

    public var actor: String
    public var authenticated: Bool
    public var action: String
    public var target: String
    public var decision: Decision
    public var policies: [String]
    public var policySHA256: String
    public var outcome: Outcome
    public var details: [String: JSONValue]

    public init(actor: String, authenticated: Bool, action: String, target: String, decision: Decision = .none,
                policies: [String] = [], policySHA256: String = "", outcome: Outcome = .ok, details: [String: JSONValue] = [:]) {
        self.actor = actor
        self.authenticated = authenticated
        self.action = action
        self.target = target
        self.decision = decision
        self.policies = policies
        self.policySHA256 = policySHA256
        self.outcome = outcome
        self.details = details
    }

    /// A record carrying a policy decision.
    public init(actor: Actor, action: String, target: String, decision: PolicyDecision, outcome: Outcome? = nil,
                details: [String: JSONValue] = [:]) {
        self.init(actor: actor.id.rawValue, authenticated: true, action: action, target: target,
                  decision: decision.allowed ? .allow : .deny, policies: decision.determining,
                  policySHA256: decision.policySHA256, outcome: outcome ?? (decision.allowed ? .ok : .denied), details: details)
    }

    func entry(seq: Int, time: String) -> JSONValue {
        .object([
            "seq": .integer(Int64(seq)), "time": .string(time), "actor": .string(actor), "authenticated": .bool(authenticated),
            "action": .string(action), "target": .string(target), "decision": .string(decision.rawValue),
            "policies": .array(policies.sorted().map { .string($0) }), "policy_sha256": .string(policySHA256),
            "outcome": .string(outcome.rawValue), "details": .object(details),
        ])
    }
}
