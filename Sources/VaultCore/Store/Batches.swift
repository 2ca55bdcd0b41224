import Foundation
import VaultCrypto

/// Batches, their scores and manifests in vault.db, each checked against the signed log: a seal's entry names
/// its batch (id, row digest, the digest its evaluator signed, its size), and a closed round's
/// manifest lists exactly the batches it counts (design: invariants 10 and 11).
extension Vault {
    /// The digest of a batch row: every column, so no byte of it can change unnoticed. Its chunks
    /// are covered by the evaluator-signed digest the log records.
    static func batchRowDigest(id batchID: [UInt8], round: String, header: [UInt8], count: Int, chunks: Int, signature: [UInt8]) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/batch-row/v2")
        e.append(batchID); e.append(round); e.append(header); e.append(Int64(count)); e.append(Int64(chunks)); e.append(signature)
        return SHA256.hash(data: e.bytes)
    }

    /// The record a batch's entry carries: the batch, its evaluator, the digest the evaluator
    /// signed and that signature, so any verifier of the log can check that the evaluator — not
    /// whoever imported it — sealed exactly this batch.
    static func batchRecord(_ b: SealedBatch) -> ObjectRecord {
        var r = ObjectRecord(kind: .batch, id: b.name,
                             sha256: batchRowDigest(id: b.batchID, round: b.round, header: b.headerBytes, count: b.count,
                                                    chunks: b.chunks, signature: b.signature))
        r.round = b.round
        r.digest = Hex.encode(b.digest)
        r.count = b.count
        r.evaluator = b.evaluator
        r.signature = Base64.encode(b.signature)
        return r
    }

    /// Every stored batch of a round against the log and the manifest: each row must be the one
    /// its entry records, every recorded batch must have its row, and the set must be the
    /// chair-signed manifest's exactly (`signed`: nil while the round has none). Nothing dropped,
    /// added, swapped or moved between rounds goes unnoticed. Returns the manifest of the batches
    /// the log records (the signed one when given), and the rows checked, in id order, for a
    /// caller that goes on to read them.
    @discardableResult
    func checkStoredBatches(of roundID: String, signed: Manifest?) throws -> (manifest: Manifest, rows: [BatchRow]) {
        let s = try database.prepare("SELECT id, round, header, count, chunks, signature FROM batches WHERE round = ? ORDER BY id").bind(roundID)
        var stored = Set<String>()
        var rows: [BatchRow] = []
        while try s.step() {
            let row = BatchRow(id: s.blob(0), header: s.blob(2), count: s.int(3), chunks: s.int(4), signature: s.blob(5))
            let name = Hex.encode(row.id)
            try vouch(.batch, name, row: Self.batchRowDigest(id: row.id, round: s.text(1), header: row.header, count: row.count, chunks: row.chunks,
                                                             signature: row.signature),
                      what: "batch \(name.prefix(16)) of round \(roundID)")
            guard log.head(.batch, name)?.round == roundID else { throw VaultError.integrity("batch \(name.prefix(16)) was moved into round \(roundID)") }
            stored.insert(name)
            rows.append(row)
        }
        let recorded = Manifest.items(ofRound: roundID, in: log)
        for b in recorded where !stored.contains(b.batch) {
            throw VaultError.integrity("batch \(b.batch.prefix(16)) of round \(roundID), sealed by \(b.evaluator) with \(b.scores) scores (audit entry), is missing from vault.db")
        }
        if let signed {
            guard signed.items == recorded else {
                throw VaultError.integrity("the manifest of round \(roundID) lists \(signed.items.count) batches, the signed log records \(recorded.count): they differ")
            }
            return (signed, rows)
        }
        return (Manifest(vault: id, round: roundID, items: recorded), rows)
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
        let body = s.blob(0), digest = SHA256.hash(data: body)
        try vouch(.manifest, roundID, row: digest, what: what)
        let manifest: Manifest
        if let known = parsedManifests[roundID], known.sha256 == digest {
            manifest = known.manifest
        } else {
            manifest = try Manifest(bytes: body)
            parsedManifests[roundID] = (digest, manifest)
        }
        guard manifest.vault == id, manifest.round == roundID, log.head(.manifest, roundID)?.digest == Hex.encode(manifest.root) else {
            throw VaultError.integrity("\(what) is not this round's")
        }
        return manifest
    }

    // MARK: Writing a batch (inside the seal's or the import's `write`)

    func batchChunkInserter(batch batchID: [UInt8]) throws -> ChunkInserter { try ChunkInserter(database: database, batch: batchID) }

    /// Stores a batch whose chunks are already in, with its signed entry: the one step `seal`
    /// and `import` share. The evaluator's signature over the batch is checked here, whoever
    /// wrote it, and again by every replay of the log.
    func acceptBatch(_ b: SealedBatch, importer: Actor, decision: PolicyDecision, action: String) throws -> Receipt {
        guard let p = try? principal(try PrincipalID(b.evaluator), verifiedWith: importer.chairKey),
              p.publicKeys.signing.isValidSignature(b.signature, for: b.digest) else {
            throw VaultError.integrity("batch \(b.name.prefix(16)): the signature of \(b.evaluator) does not verify (changed after sealing?)")
        }
        try database.prepare("INSERT INTO batches (id, round, header, count, chunks, signature) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(b.batchID, b.round, b.headerBytes, b.count, b.chunks, b.signature).run()
        let record = Self.batchRecord(b)
        let seq = try appendAudit(AuditRecord(actor: importer, action: action, target: "round/\(b.round)", decision: decision,
                                              details: ["scores": .integer(Int64(b.count)), "batch": .string(record.id),
                                                        "evaluator": .string(b.evaluator)]),
                                  signer: importer.keys.signing, objects: [record])
        return Receipt(vault: id, round: b.round, batch: record.id, digest: Hex.encode(b.digest), evaluator: b.evaluator,
                       scores: b.count, seq: seq, leafHash: Hex.encode(leaves[seq]))
    }

    /// Reads a batch's stored chunks in order.
    func chunkReader() throws -> ChunkReader { try ChunkReader(database: database) }
}

/// One prepared insert for a batch's chunks, reused for every chunk.
final class ChunkInserter {
    private let statement: Statement

    init(database: Database, batch: [UInt8]) throws {
        statement = try database.prepare("INSERT INTO batch_chunks (batch, n, ct) VALUES (?, ?, ?)")
        try statement.bind(batch)
    }

    func add(index: Int, ciphertext: UnsafeRawBufferPointer) throws {
        try statement.bind(2, int64: Int64(index))
        try statement.bind(3, blob: ciphertext)
        try statement.stepDone()
    }

    func finish() { statement.reset() }
}

/// A stored batch row (the chunks are read apart).
struct BatchRow {
    let id: [UInt8], header: [UInt8], count: Int, chunks: Int, signature: [UInt8]
}

/// One prepared query for a batch's chunks, reused for every batch.
final class ChunkReader {
    private let chunks: Statement

    init(database: Database) throws {
        chunks = try database.prepare("SELECT n, ct FROM batch_chunks WHERE batch = ? ORDER BY n")
    }

    /// Calls `body` with each stored chunk of `batch`: index, ciphertext (valid only during the call).
    func chunks(of batch: [UInt8], _ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        chunks.reset()
        try chunks.bind(batch)
        while try chunks.step() {
            try chunks.withBytes(1) { try body(chunks.int(0), $0) }
        }
    }
}
