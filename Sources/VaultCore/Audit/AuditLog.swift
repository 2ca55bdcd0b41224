import Foundation
import VaultCrypto

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

extension Vault {
    /// The number of entries in the log.
    public func auditSize() throws -> Int {
        let s = try database.prepare("SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_log")
        _ = try s.step()
        return s.int(0)
    }

    func loadFrontier(size: Int) throws -> MerkleFrontier {
        let s = try database.prepare("SELECT level, hash FROM audit_frontier")
        var levels: [Int: [UInt8]] = [:]
        while try s.step() { levels[s.int(0)] = s.blob(1) }
        return try MerkleFrontier(size: size, levels: levels)
    }

    /// Appends one entry, signed by `signer` when the actor is authenticated. Must run inside
    /// the transaction of the action it records: if the append fails, the action rolls back
    /// with it (fail closed, design: invariant 7). Costs O(log n): only the frontier is read and updated.
    @discardableResult
    public func appendAudit(_ record: AuditRecord, signer: Curve25519.Signing.PrivateKey?) throws -> Int {
        precondition(record.authenticated == (signer != nil), "authenticated entries are signed, others are not")
        let seq = try auditSize()
        var frontier = try loadFrontier(size: seq)
        let bytes = CanonicalJSON.encode(record.entry(seq: seq, time: Timestamp.now()))
        let leaf = Merkle.leafHash(bytes)
        let sig = try signer.map { try $0.signature(for: leaf) }
        try database.prepare("INSERT INTO audit_log (seq, entry, leaf_hash, sig) VALUES (?, ?, ?, ?)")
            .bind(seq, bytes, leaf, sig).run()
        let change = frontier.append(leaf)
        let delete = try database.prepare("DELETE FROM audit_frontier WHERE level = ?")
        for level in change.removed { try delete.bind(level).run() }
        try database.prepare("INSERT OR REPLACE INTO audit_frontier (level, hash) VALUES (?, ?)")
            .bind(change.added.level, change.added.hash).run()
        return seq
    }

    /// Records a denied or failed attempt in a transaction of its own (the attempt itself did
    /// nothing). If even that cannot be written, the caller's error stands and the write
    /// failure is reported instead, so no attempt goes unrecorded silently.
    public func recordAttempt(_ record: AuditRecord, signer: Curve25519.Signing.PrivateKey?) throws {
        try database.transaction { _ = try appendAudit(record, signer: signer) }
    }

    /// Runs a read-only command's body; if it fails (other than by a denial, which `authorize`
    /// records itself), the failed attempt is recorded, unauthenticated, before the error goes on.
    public func recordingFailure<T>(actor: String, action: String, target: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as VaultError {
            if case .denied = error { throw error }
            try recordAttempt(AuditRecord(actor: actor, authenticated: false, action: action, target: target, outcome: .failed,
                                          details: ["exit_status": .integer(Int64(error.exitStatus.rawValue))]), signer: nil)
            throw error
        }
    }

    /// The current tree head, signed by the chair, stored, and returned as a note. Refuses to
    /// sign a head that is inconsistent with the last stored checkpoint (the old root must be
    /// the root of the first old-size leaves), so the vault never signs a fork of its own log.
    /// Must run inside a transaction.
    @discardableResult
    public func signCheckpoint(chair: PrincipalID, key: Curve25519.Signing.PrivateKey) throws -> Checkpoint.Note {
        let size = try auditSize()
        let root = try loadFrontier(size: size).root
        if let existing = try checkpoint(size: size) {
            guard existing.checkpoint.root == root else { throw VaultError.integrity("a checkpoint for size \(size) exists with a different root") }
            return existing
        }
        if let last = try latestCheckpoint() {
            let leaves = try leafHashes(upTo: last.checkpoint.size)
            guard leaves.count == last.checkpoint.size, Merkle.root(ofLeafHashes: leaves[...]) == last.checkpoint.root else {
                throw VaultError.integrity("the audit log no longer matches its checkpoint at size \(last.checkpoint.size); refusing to sign a new one")
            }
        }
        let text = try Checkpoint(vaultID: id, size: size, root: root).signedNote(name: chair.rawValue, key: key)
        try database.prepare("INSERT INTO checkpoints (size, root, note) VALUES (?, ?, ?)").bind(size, root, text).run()
        return try Checkpoint.parse(note: text)
    }

    public func latestCheckpoint() throws -> Checkpoint.Note? {
        try loadCheckpoint(try database.prepare("SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1"))
    }

    func checkpoint(size: Int) throws -> Checkpoint.Note? {
        try loadCheckpoint(try database.prepare("SELECT size, root, note FROM checkpoints WHERE size = ?").bind(size))
    }

    /// A stored checkpoint, accepted only if its note is this vault's, signed by the chair, and
    /// agrees with the size and root stored beside it.
    func loadCheckpoint(_ s: Statement) throws -> Checkpoint.Note? {
        guard try s.step() else { return nil }
        let note = try Checkpoint.parse(note: s.text(2))
        guard note.checkpoint.size == s.int(0), note.checkpoint.root == s.blob(1), note.checkpoint.origin == "evalvault/\(id)",
              note.isSigned(by: try chairID().rawValue, key: try recordedChairKey()) else {
            throw VaultError.integrity("the stored checkpoint at size \(s.int(0)) is not the chair's signed checkpoint of this log")
        }
        return note
    }

    /// Every leaf hash of the first `size` entries (for proofs).
    func leafHashes(upTo size: Int) throws -> [[UInt8]] {
        let s = try database.prepare("SELECT leaf_hash FROM audit_log WHERE seq < ? ORDER BY seq").bind(size)
        var out: [[UInt8]] = []
        out.reserveCapacity(size)
        while try s.step() { out.append(s.blob(0)) }
        return out
    }

    /// Streams entries 0..<size in order: (JCS entry bytes, signature).
    func forEachAuditEntry(upTo size: Int, _ body: ([UInt8], [UInt8]?) throws -> Void) throws {
        let s = try database.prepare("SELECT seq, entry, sig FROM audit_log WHERE seq < ? ORDER BY seq").bind(size)
        var expected = 0
        while try s.step() {
            guard s.int(0) == expected else { throw VaultError.integrity("audit entry \(expected) is missing from vault.db") }
            try body(s.blob(1), s.optionalBlob(2))
            expected += 1
        }
        guard expected == size else { throw VaultError.integrity("vault.db holds \(expected) audit entries, the checkpoint says \(size)") }
    }
}
