import Foundation
import VaultCrypto

/// The audit log in vault.db: appending signed entries (inside `write`), the one refusal path
/// that records an attempt, checkpoints, and reading entries back for proofs and exports.
extension Vault {
    /// The number of entries in the log, as this client has verified it.
    public func auditSize() throws -> Int { log.size }

    /// Appends one entry, signed by `signer` when the actor is authenticated, naming the
    /// `objects` it changes (their rows' digests). Must run inside `write`, the transaction of
    /// the action it records: if the append fails, the action rolls back with it (fail closed,
    /// design: invariant 7). The entry is replayed into this client's view at once, under the
    /// same rules as anyone else's.
    @discardableResult
    public func appendAudit(_ record: AuditRecord, signer: Curve25519.Signing.PrivateKey?, objects: [ObjectRecord] = []) throws -> Int {
        precondition(record.authenticated == (signer != nil), "authenticated entries are signed, others are not")
        var record = record
        if !objects.isEmpty { record.details["objects"] = .array(objects.map(\.json)) }
        let seq = log.size
        let entry = record.entry(seq: seq, time: Timestamp.now())
        let bytes = CanonicalJSON.encode(entry)
        let leaf = Merkle.leafHash(bytes)
        let sig = try signer.map { try $0.signature(for: AuditSignature.message(leaf: leaf, rootBefore: log.root)) }
        try database.prepare("INSERT INTO audit_log (seq, entry, leaf_hash, sig) VALUES (?, ?, ?, ?)")
            .bind(seq, bytes, leaf, sig).run()
        try accept(seq: seq, entry: entry, leaf: leaf, signature: sig, verifySignature: false)
        return seq
    }

    /// Records a denied or failed attempt in a transaction of its own (the attempt itself did
    /// nothing). If even that cannot be written, the caller's error stands and the write
    /// failure is reported instead, so no attempt goes unrecorded silently.
    public func recordAttempt(_ record: AuditRecord, signer: Curve25519.Signing.PrivateKey?) throws {
        try write { _ = try appendAudit(record, signer: signer) }
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

    /// The current tree head — the root this client computed itself from the verified log, never
    /// a stored one — signed by the chair, stored, and returned as a note. Refuses to sign a head
    /// inconsistent with the latest checkpoint this client has seen or the vault stores (an RFC
    /// 9162 consistency proof from each), so the vault never signs a fork of its own log.
    /// Must run inside `write`.
    @discardableResult
    public func signCheckpoint(chair: PrincipalID, key: Curve25519.Signing.PrivateKey) throws -> Checkpoint.Note {
        let size = log.size, root = log.root
        if let existing = try checkpoint(size: size) {
            guard existing.checkpoint.root == root else { throw VaultError.integrity("a checkpoint for size \(size) exists with a different root") }
            remember(existing)
            return existing
        }
        var earlier: [Checkpoint.Note] = []
        if let stored = try latestCheckpoint() { earlier.append(stored) }
        if let seen = log.checkpointNote { earlier.append(try Checkpoint.parse(note: seen)) }
        for old in earlier {
            let proof = Merkle.consistencyProof(oldSize: old.checkpoint.size, leafHashes: leaves[...])
            guard old.checkpoint.size <= size,
                  Merkle.verifyConsistency(oldSize: old.checkpoint.size, newSize: size, oldRoot: old.checkpoint.root, newRoot: root, proof: proof) else {
                throw VaultError.integrity("the audit log (\(size) entries) is not consistent with the checkpoint at size \(old.checkpoint.size); refusing to sign a new one")
            }
        }
        let text = try Checkpoint(vaultID: id, size: size, root: root).signedNote(name: chair.rawValue, key: key)
        try database.prepare("INSERT INTO checkpoints (size, root, note) VALUES (?, ?, ?)").bind(size, root, text).run()
        let note = try Checkpoint.parse(note: text)
        remember(note)
        return note
    }

    /// Keeps the newest checkpoint this client has seen in its state.
    func remember(_ note: Checkpoint.Note) {
        if note.checkpoint.size >= log.checkpointSize {
            log.checkpointNote = note.text
            log.checkpointSize = note.checkpoint.size
        }
    }

    /// The vault's newest stored checkpoint. A vault whose newest checkpoint is older than one
    /// this client has seen has lost it (deleted rows): that is an integrity error.
    public func latestCheckpoint() throws -> Checkpoint.Note? {
        let note = try loadCheckpoint(try database.prepare("SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1"))
        if log.checkpointSize > (note?.checkpoint.size ?? -1), log.checkpointNote != nil {
            throw VaultError.integrity("the vault's newest checkpoint is at size \(note?.checkpoint.size ?? 0), but this client has seen one at size \(log.checkpointSize) (deleted from vault.db)")
        }
        if let note { remember(note) }
        return note
    }

    func checkpoint(size: Int) throws -> Checkpoint.Note? {
        try loadCheckpoint(try database.prepare("SELECT size, root, note FROM checkpoints WHERE size = ?").bind(size))
    }

    /// A stored checkpoint, accepted only if its note is this vault's, signed by the pinned chair
    /// key, agrees with the size and root stored beside it, and with the verified log.
    func loadCheckpoint(_ s: Statement) throws -> Checkpoint.Note? {
        guard try s.step() else { return nil }
        let note = try Checkpoint.parse(note: s.text(2))
        let size = note.checkpoint.size
        guard size == s.int(0), note.checkpoint.root == s.blob(1), note.checkpoint.origin == "evalvault/\(id)",
              note.isSigned(by: try chairID().rawValue, key: try chairKey), size <= leaves.count,
              Merkle.root(ofLeafHashes: leaves[..<size]) == note.checkpoint.root else {
            throw VaultError.integrity("the stored checkpoint at size \(s.int(0)) is not the chair's signed checkpoint of this log")
        }
        return note
    }

    /// One entry of the verified log and its signature.
    func auditEntry(_ seq: Int) throws -> (entry: JSONValue, sig: [UInt8]?) {
        let s = try database.prepare("SELECT entry, sig FROM audit_log WHERE seq = ?").bind(seq)
        guard try s.step(), seq < leaves.count, Merkle.leafHash(s.blob(0)) == leaves[seq] else {
            throw VaultError.integrity("audit entry \(seq) is missing from vault.db or changed")
        }
        return (try JSONParser.parse(s.blob(0), allowWhitespace: false), s.optionalBlob(1))
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
