import Foundation
import VaultCrypto

/// Batches, their scores and manifests in vault.db, each checked against the signed log: a seal's entry names
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
    /// chair-signed manifest's exactly (`signed`: nil while the round has none). Nothing dropped,
    /// added, swapped or moved between rounds goes unnoticed. Returns the manifest of the batches
    /// the log records, built once for the callers that count or store it.
    @discardableResult
    func checkStoredBatches(of roundID: String, signed: Manifest?) throws -> Manifest {
        let s = try database.prepare("SELECT id, round, enc, count, trailer FROM batches WHERE round = ?").bind(roundID)
        var stored = Set<String>()
        while try s.step() {
            let batchID = s.blob(0), name = Hex.encode(batchID)
            try vouch(.batch, name, row: Self.batchRowDigest(id: batchID, round: s.text(1), enc: s.blob(2), count: s.int(3), trailer: s.blob(4)),
                      what: "batch \(name.prefix(16)) of round \(roundID)")
            guard log.head(.batch, name)?.round == roundID else { throw VaultError.integrity("batch \(name.prefix(16)) was moved into round \(roundID)") }
            stored.insert(name)
        }
        let fromLog = Manifest(vault: id, round: roundID, log: log)
        for b in fromLog.items where !stored.contains(b.batch) {
            throw VaultError.integrity("batch \(b.batch.prefix(16)) of round \(roundID), sealed by \(b.evaluator) with \(b.scores) scores (audit entry), is missing from vault.db")
        }
        if let signed, signed != fromLog {
            throw VaultError.integrity("the manifest of round \(roundID) lists \(signed.items.count) batches, the signed log records \(fromLog.items.count): they differ")
        }
        return fromLog
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

    // MARK: Writing a batch (inside the seal's `write`)

    /// The batch row goes first (its scores reference it); its trailer is set last.
    func insertBatchRow(id batchID: [UInt8], round: String, enc: [UInt8], count: Int) throws {
        try database.prepare("INSERT INTO batches (id, round, enc, count, trailer) VALUES (?, ?, ?, ?, ?)")
            .bind(batchID, round, enc, count, [UInt8]()).run()
    }

    func setBatchTrailer(_ trailer: [UInt8], of batchID: [UInt8]) throws {
        try database.prepare("UPDATE batches SET trailer = ? WHERE id = ?").bind(trailer, batchID).run()
    }

    func scoreInserter(batch batchID: [UInt8]) throws -> ScoreInserter { try ScoreInserter(database: database, batch: batchID) }

    /// Reads a round's stored batches in id order, and each one's scores in position order.
    func batchCursor(round: String) throws -> BatchCursor { try BatchCursor(database: database, round: round) }
}

/// One prepared insert for a batch's scores, reused for every row (a bulk seal stores a million).
final class ScoreInserter {
    private let statement: Statement

    init(database: Database, batch: [UInt8]) throws {
        statement = try database.prepare("INSERT INTO seals (batch, seq, team, criterion, ct) VALUES (?, ?, ?, ?, ?)")
        try statement.bind(batch)
    }

    func add(seq: Int, team: UnsafeRawBufferPointer, criterion: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer) throws {
        try statement.bind(2, int64: Int64(seq))
        try statement.bind(3, text: team)
        try statement.bind(4, text: criterion)
        try statement.bind(5, blob: ciphertext)
        try statement.stepDone()
    }

    func finish() { statement.reset() }
}

/// A round's batches as stored, read one at a time; the scores of each read without copying
/// (the hot path of a reveal).
final class BatchCursor {
    struct Row {
        let id: [UInt8], enc: [UInt8], count: Int, trailer: [UInt8]
    }

    private let batches: Statement
    private let scores: Statement
    /// Stepping a finished statement again would restart it.
    private var exhausted = false

    init(database: Database, round: String) throws {
        batches = try database.prepare("SELECT id, enc, count, trailer FROM batches WHERE round = ? ORDER BY id").bind(round)
        scores = try database.prepare("SELECT seq, team, criterion, ct FROM seals WHERE batch = ? ORDER BY seq")
    }

    func next() throws -> Row? {
        guard !exhausted, try batches.step() else { exhausted = true; return nil }
        return Row(id: batches.blob(0), enc: batches.blob(1), count: batches.int(2), trailer: batches.blob(3))
    }

    /// Calls `body` with each stored score of `batch`: position, team, criterion, ciphertext (the
    /// buffers are valid only during the call).
    func scores(of batch: [UInt8], _ body: (Int, UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        scores.reset()
        try scores.bind(batch)
        while try scores.step() {
            try scores.withBytes(1) { team in
                try scores.withBytes(2) { criterion in
                    try scores.withBytes(3) { ct in try body(scores.int(0), team, criterion, ct) }
                }
            }
        }
    }
}
