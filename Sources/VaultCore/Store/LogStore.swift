import Foundation
import VaultCrypto

/// The store's half of "state comes from the signed log": reading the log into this client's
/// verified view, the one way to write (a change and its signed entry in one transaction), and
/// the check every load of a row goes through.
extension Vault {
    /// Brings `log` up to date with vault.db. The vault's log must extend what this client saw
    /// before — same first `log.size` leaves, proven with an RFC 9162 consistency proof — or the
    /// command stops with 65 naming both sizes. Then every new entry is hashed, checked against
    /// its stored leaf hash, verified and replayed.
    func refresh() throws {
        let stored = try storedLeafHashes()
        guard stored.count >= log.size else {
            throw VaultError.integrity("the vault's audit log has \(stored.count) entries but this client has seen \(log.size): it was rolled back (an older copy of vault.db restored?); restore the latest backup, or ask the chair")
        }
        if log.size > 0 {
            let newRoot = Merkle.root(ofLeafHashes: stored[...])
            let proof = Merkle.consistencyProof(oldSize: log.size, leafHashes: stored[...])
            guard Merkle.verifyConsistency(oldSize: log.size, newSize: stored.count, oldRoot: log.root, newRoot: newRoot, proof: proof) else {
                throw VaultError.integrity("the vault's audit log (\(stored.count) entries) is not an extension of the \(log.size) entries this client has seen: its history was rewritten (a fork)")
            }
        }
        leaves = Array(stored.prefix(log.size))
        frontier = MerkleFrontier()
        for leaf in leaves { frontier.append(leaf) }
        try replay(storedLeaves: stored)
    }

    /// Inside a write transaction: the entries other processes appended since `refresh`.
    func refreshTail() throws {
        // MAX(seq) walks one path of the b-tree; count(*) would read every row of the log.
        let count = try database.prepare("SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_log")
        _ = try count.step()
        guard count.int(0) >= log.size else {
            throw VaultError.integrity("the vault's audit log shrank to \(count.int(0)) entries while this client had seen \(log.size)")
        }
        guard count.int(0) > log.size else { return }
        let s = try database.prepare("SELECT leaf_hash FROM audit_log WHERE seq >= ? ORDER BY seq").bind(log.size)
        var tail = leaves
        while try s.step() { tail.append(s.blob(0)) }
        try replay(storedLeaves: tail)
    }

    private func storedLeafHashes() throws -> [[UInt8]] {
        let s = try database.prepare("SELECT seq, leaf_hash FROM audit_log ORDER BY seq")
        var out: [[UInt8]] = []
        while try s.step() {
            guard s.int(0) == out.count else { throw VaultError.integrity("audit entry \(out.count) is missing from vault.db") }
            out.append(s.blob(1))
        }
        return out
    }

    /// Replays entries `log.size…` of the stored log.
    private func replay(storedLeaves: [[UInt8]]) throws {
        guard storedLeaves.count > log.size else { return }
        let s = try database.prepare("SELECT seq, entry, sig FROM audit_log WHERE seq >= ? ORDER BY seq").bind(log.size)
        while try s.step() {
            let seq = s.int(0)
            guard seq == log.size, seq < storedLeaves.count else { throw VaultError.integrity("audit entry \(log.size) is missing from vault.db") }
            let bytes = s.blob(1)
            let leaf = Merkle.leafHash(bytes)
            guard leaf == storedLeaves[seq] else { throw VaultError.integrity("audit entry \(seq) does not match its leaf hash (changed in vault.db)") }
            let entry: JSONValue
            do { entry = try JSONParser.parse(bytes, allowWhitespace: false, integersOnly: true) } catch {
                throw VaultError.integrity("audit entry \(seq) is not valid JSON")
            }
            guard CanonicalJSON.encode(entry) == bytes else { throw VaultError.integrity("audit entry \(seq) is not canonical JSON") }
            try accept(seq: seq, entry: entry, leaf: leaf, signature: s.optionalBlob(2), verifySignature: true)
        }
        guard log.size == storedLeaves.count else { throw VaultError.integrity("audit entry \(log.size) is missing from vault.db") }
    }

    /// One verified entry into this client's view.
    func accept(seq: Int, entry: JSONValue, leaf: [UInt8], signature: [UInt8]?, verifySignature: Bool) throws {
        // log.root is always the frontier's root: read it rather than fold the frontier again.
        try log.apply(seq: seq, entry: entry, signedMessage: AuditSignature.message(leaf: leaf, rootBefore: log.root),
                      signature: signature, verifySignature: verifySignature)
        leaves.append(leaf)
        frontier.append(leaf)
        log.size = leaves.count
        log.root = frontier.root
    }

    /// The one way to change a vault: `body` runs in one `BEGIN IMMEDIATE` transaction after this
    /// client has read what others appended, and writes its rows and their signed entry
    /// together (design: invariant 7). After the commit, what this client has seen is saved; on
    /// failure its view goes back to where it was.
    @discardableResult
    public func write<T>(_ body: () throws -> T) throws -> T {
        let saved = (log, leaves, frontier)
        do {
            let result = try database.transaction {
                try refreshTail()
                return try body()
            }
            try client.save(log)
            return result
        } catch {
            (log, leaves, frontier) = saved
            throw error
        }
    }

    /// The check every loaded row goes through. `row` is the SHA-256 of the row's canonical
    /// bytes, or nil when vault.db has no such row. A row the log does not record, a row the log
    /// records but vault.db lost, and a row that is not the latest recorded version are all
    /// integrity failures naming the object; (nil, nil) is simply "not there" for the caller.
    func vouch(_ kind: ObjectRecord.Kind, _ objectID: String, row: [UInt8]?, what: String) throws {
        do {
            try check(kind, objectID, row: row, what: what)
        } catch {
            // Another process may have changed the object since this one read the log: read the
            // entries appended since, then judge again.
            let before = log.size
            try refreshTail()
            guard log.size > before else { throw error }
            try check(kind, objectID, row: row, what: what)
        }
    }

    private func check(_ kind: ObjectRecord.Kind, _ objectID: String, row: [UInt8]?, what: String) throws {
        switch (log.head(kind, objectID), row) {
        case (nil, nil):
            return
        case (nil, .some):
            throw VaultError.integrity("\(what) is in vault.db but no signed log entry records it (added behind the log's back)")
        case (let head?, nil):
            guard head.deleted else { throw VaultError.integrity("\(what) is missing from vault.db, though the signed log records it (deleted)") }
        case (let head?, let row?):
            guard !head.deleted, head.sha256 == Hex.encode(row) else {
                throw VaultError.integrity("\(what) in vault.db is not the version the signed log records (a stale, replayed or altered row)")
            }
        }
    }

    // MARK: Key wraps

    struct Wrap {
        let enc: [UInt8]
        let ct: [UInt8]
    }

    static func wrapID(purpose: String, scope: String, recipient: PrincipalID) -> String { "\(purpose)/\(scope)/\(recipient.rawValue)" }

    static func wrapDigest(purpose: String, scope: String, recipient: PrincipalID, enc: [UInt8], ct: [UInt8]) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/wrap-row/v1")
        e.append(purpose); e.append(scope); e.append(recipient.rawValue); e.append(enc); e.append(ct)
        return SHA256.hash(data: e.bytes)
    }

    /// Stores a wrap; the returned record goes into the chair-signed entry of the change.
    func storeWrap(purpose: String, scope: String, recipient: PrincipalID, enc: [UInt8], ct: [UInt8]) throws -> ObjectRecord {
        try database.prepare("INSERT INTO key_wraps (purpose, scope, recipient, enc, ct) VALUES (?, ?, ?, ?, ?)")
            .bind(purpose, scope, recipient.rawValue, enc, ct).run()
        return ObjectRecord(kind: .wrap, id: Self.wrapID(purpose: purpose, scope: scope, recipient: recipient),
                            sha256: Self.wrapDigest(purpose: purpose, scope: scope, recipient: recipient, enc: enc, ct: ct))
    }

    /// A wrap as the log records it, or nil when there is none (and the log records none, or
    /// records it destroyed).
    func loadWrap(purpose: String, scope: String, recipient: PrincipalID) throws -> Wrap? {
        let s = try database.prepare("SELECT enc, ct FROM key_wraps WHERE purpose = ? AND scope = ? AND recipient = ?")
            .bind(purpose, scope, recipient.rawValue)
        let what = "the \(purpose) wrap\(scope.isEmpty ? "" : " of round \(scope)") for \(recipient)"
        let id = Self.wrapID(purpose: purpose, scope: scope, recipient: recipient)
        guard try s.step() else {
            try vouch(.wrap, id, row: nil, what: what)
            return nil
        }
        let wrap = Wrap(enc: s.blob(0), ct: s.blob(1))
        try vouch(.wrap, id, row: Self.wrapDigest(purpose: purpose, scope: scope, recipient: recipient, enc: wrap.enc, ct: wrap.ct), what: what)
        return wrap
    }

    /// Deletes every wrap of a round (shred): every row of the round's scope, whatever its
    /// purpose says (a writer could have renamed one to survive), and reports to the log the wraps
    /// the log records as destroyed. Nothing of the round's key may remain.
    func destroyWraps(ofRound roundID: String) throws -> [ObjectRecord] {
        let recorded = log.heads.values.filter {
            $0.kind == .wrap && !$0.deleted && $0.id.split(separator: "/", omittingEmptySubsequences: false).dropFirst().first.map(String.init) == roundID
        }
        try database.prepare("DELETE FROM key_wraps WHERE scope = ?").bind(roundID).run()
        let left = try database.prepare("SELECT count(*) FROM key_wraps WHERE scope = ?").bind(roundID)
        _ = try left.step()
        guard left.int(0) == 0 else { throw VaultError.integrity("key wraps of round \(roundID) survived the shred") }
        return recorded.sorted { $0.id < $1.id }.map { ObjectRecord(kind: .wrap, id: $0.id, sha256: nil) }
    }
}

extension Principal {
    /// The record a principal's log entry carries.
    func objectRecord(vaultID: String) -> ObjectRecord {
        var r = ObjectRecord(kind: .principal, id: id.rawValue, sha256: SHA256.hash(data: signedBytes(vaultID: vaultID)))
        r.version = version
        r.role = role.rawValue
        r.ed25519 = Base64.encode(publicKeys.signing.rawRepresentation)
        r.enabled = enabled
        return r
    }
}

extension Round {
    /// The record a round's log entry carries.
    func objectRecord(vaultID: String) -> ObjectRecord {
        var r = ObjectRecord(kind: .round, id: id, sha256: SHA256.hash(data: signedBytes(vaultID: vaultID)))
        r.version = version
        r.state = state.rawValue
        r.holders = config.reveal.holders.map(\.rawValue)
        r.threshold = config.reveal.threshold
        if state != .draft { r.panel = panel.map(\.rawValue) }
        return r
    }
}
