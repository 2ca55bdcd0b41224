import Foundation
import VaultCrypto

/// Batches and manifests in vault.db, each checked against the signed log: a seal's entry names
/// its batch (id, row digest, the digest its evaluator signed, its size), and a closed round's
/// manifest lists exactly the batches it counts (design: invariants 10 and 11).
extension Vault {
    /// The digest of a batch row: every column, so no byte of it can change unnoticed.
    static func batchRowDigest(id batchID: [UInt8], round: String, enc: [UInt8], count: Int, trailer: [UInt8]) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/batch-row/v1")
        e.append(batchID); e.append(round); e.append(enc); e.append(Int64(count)); e.append(trailer)
        return SHA256.hash(data: e.bytes)
    }

    /// The record a seal's entry carries for its batch.
    static func batchRecord(id batchID: [UInt8], round: String, enc: [UInt8], count: Int, trailer: [UInt8],
                            signedDigest: [UInt8], evaluator: PrincipalID) -> ObjectRecord {
        var r = ObjectRecord(kind: .batch, id: Hex.encode(batchID),
                             sha256: batchRowDigest(id: batchID, round: round, enc: enc, count: count, trailer: trailer))
        r.round = round
        r.digest = Hex.encode(signedDigest)
        r.count = count
        r.evaluator = evaluator.rawValue
        return r
    }

    /// Every stored batch of a round against the log and the manifest: each row must be the one
    /// its seal entry records, every recorded batch must have its row, and the set must be the
    /// manifest's exactly. Nothing dropped, added, swapped or moved between rounds goes unnoticed.
    func checkStoredBatches(of roundID: String, against manifest: Manifest) throws {
        let s = try database.prepare("SELECT id, round, enc, count, trailer FROM batches WHERE round = ?").bind(roundID)
        var stored = Set<String>()
        while try s.step() {
            let batchID = s.blob(0), name = Hex.encode(batchID)
            try vouch(.batch, name, row: Self.batchRowDigest(id: batchID, round: s.text(1), enc: s.blob(2), count: s.int(3), trailer: s.blob(4)),
                      what: "batch \(name.prefix(16)) of round \(roundID)")
            guard log.head(.batch, name)?.round == roundID else { throw VaultError.integrity("batch \(name.prefix(16)) was moved into round \(roundID)") }
            stored.insert(name)
        }
        let recorded = log.batches(ofRound: roundID)
        for b in recorded where !stored.contains(b.id) {
            throw VaultError.integrity("batch \(b.id.prefix(16)) of round \(roundID), sealed by \(b.evaluator ?? "?") with \(b.count ?? 0) scores (audit entry), is missing from vault.db")
        }
        let fromLog = Manifest(vault: id, round: roundID, log: log)
        guard fromLog == manifest else {
            throw VaultError.integrity("the manifest of round \(roundID) lists \(manifest.items.count) batches, the signed log records \(fromLog.items.count): they differ")
        }
    }

    /// Stores a round's manifest at close; the record goes into the chair-signed close entry.
    func storeManifest(_ manifest: Manifest) throws -> ObjectRecord {
        let bytes = manifest.bytes
        try database.prepare("INSERT INTO manifests (round, body) VALUES (?, ?)").bind(manifest.round, bytes).run()
        var r = ObjectRecord(kind: .manifest, id: manifest.round, sha256: SHA256.hash(data: bytes))
        r.digest = Hex.encode(manifest.root)
        r.count = manifest.items.count
        return r
    }

    /// A closed round's manifest, as the log records it.
    public func manifest(of roundID: String) throws -> Manifest {
        let s = try database.prepare("SELECT body FROM manifests WHERE round = ?").bind(roundID)
        let what = "the manifest of round \(roundID)"
        guard try s.step() else {
            try vouch(.manifest, roundID, row: nil, what: what)
            throw VaultError.integrity("\(what) is missing: the round's close entry has none")
        }
        let body = s.blob(0)
        try vouch(.manifest, roundID, row: SHA256.hash(data: body), what: what)
        let manifest = try Manifest(bytes: body)
        guard manifest.vault == id, manifest.round == roundID, log.head(.manifest, roundID)?.digest == Hex.encode(manifest.root) else {
            throw VaultError.integrity("\(what) is not this round's")
        }
        return manifest
    }
}
