import Foundation
import VaultCrypto

/// The core of the `audit` commands: each is decided by the policy and recorded in the log.
extension Vault {
    /// Decides and records an export. The chair signs a fresh checkpoint covering everything,
    /// this entry included; anyone else exports up to the chair's latest checkpoint, and `left`
    /// says how many newer entries that leaves out.
    public func prepareAuditExport(actor: Actor, format: AuditExportFormat) throws -> (checkpoint: Checkpoint.Note, left: Int) {
        let request = PolicyRequest(principal: Self.attributes(of: actor.principal), action: "audit.export")
        let details: [String: JSONValue] = ["format": .string(format.rawValue)]
        let decision = try authorize(request, actor: actor, target: "audit", details: details)
        let note: Checkpoint.Note? = try write {
            try appendAudit(AuditRecord(actor: actor, action: "audit.export", target: "audit", decision: decision, details: details),
                            signer: actor.keys.signing)
            return actor.principal.role == .chair ? try signCheckpoint(chair: actor.id, key: actor.keys.signing) : try latestCheckpoint()
        }
        guard let note else {
            throw VaultError.notFound("the log has no checkpoint yet; the chair signs one with `evalvault audit checkpoint`")
        }
        return (note, try auditSize() - note.checkpoint.size)
    }

    /// `audit checkpoint`: decided, recorded, then the head including that entry is signed.
    public func checkpointNow(actor: Actor) throws -> Checkpoint.Note {
        let request = PolicyRequest(principal: Self.attributes(of: actor.principal), action: "audit.checkpoint")
        let decision = try authorize(request, actor: actor, target: "audit")
        guard actor.principal.role == .chair else {
            try recordAttempt(AuditRecord(actor: actor, action: "audit.checkpoint", target: "audit", decision: decision, outcome: .failed,
                                          details: ["reason": .string("only the chair signs checkpoints")]), signer: actor.keys.signing)
            throw VaultError.permission("only the chair signs checkpoints; \(actor.id) is \(actor.principal.role.rawValue)")
        }
        return try write {
            try appendAudit(AuditRecord(actor: actor, action: "audit.checkpoint", target: "audit", decision: decision),
                            signer: actor.keys.signing)
            return try signCheckpoint(chair: actor.id, key: actor.keys.signing)
        }
    }

    /// `audit prove SEQ`: needs the audit.export permission; recorded.
    public func proveEntry(_ seq: Int, actor: Actor) throws -> JSONValue {
        let request = PolicyRequest(principal: Self.attributes(of: actor.principal), action: "audit.export")
        let target = "audit/\(seq)"
        let decision = try authorize(request, actor: actor, target: target, details: ["proof": .bool(true)])
        let proof: JSONValue
        do {
            proof = try AuditProof.make(vault: self, seq: seq, chair: try principal(try chairID(), verifiedWith: actor.chairKey))
        } catch let error as VaultError {
            try recordAttempt(AuditRecord(actor: actor, action: "audit.export", target: target, decision: decision, outcome: .failed,
                                          details: ["proof": .bool(true), "exit_status": .integer(Int64(error.exitStatus.rawValue))]),
                              signer: actor.keys.signing)
            throw error
        }
        try write {
            try appendAudit(AuditRecord(actor: actor, action: "audit.export", target: target, decision: decision, details: ["proof": .bool(true)]),
                            signer: actor.keys.signing)
        }
        return proof
    }
}
