import Foundation
import VaultCrypto

/// One decrypted score, as tests inspect it: indexes into its `OpenedRound`, no names.
/// `units` is the secret: the score in steps above the criterion's minimum.
public struct OpenedScore: Sendable {
    /// Index into `OpenedRound.evaluators`.
    public let evaluator: Int32
    /// Index into the round's teams.
    public let team: Int32
    /// Index into the round's criteria.
    public let criterion: Int32
    public var units: Int64
    /// Index into `OpenedRound.batches`, and the position in that batch.
    let batch: Int32
    let seq: Int32
}

/// Every counted score of a round, one by one (the latest per evaluator and place). A reveal
/// never builds this — it sums into a `CellTable` — but tests read it to check what was sealed.
public struct OpenedRound: Sendable {
    public let config: RoundConfig
    /// The evaluator ids that sealed.
    public let evaluators: [String]
    /// Each batch's id.
    let batches: [[UInt8]]
    public internal(set) var scores: [OpenedScore]

    public func evaluatorID(of s: OpenedScore) -> String { evaluators[Int(s.evaluator)] }
    public func teamID(of s: OpenedScore) -> String { config.teams[Int(s.team)] }
    public func criterionID(of s: OpenedScore) -> String { config.criteria[Int(s.criterion)].id }
    public func batchID(of s: OpenedScore) -> [UInt8] { batches[Int(s.batch)] }

    /// Overwrites the decrypted values.
    public mutating func wipe() { for i in scores.indices { scores[i].units = 0 } }
}

/// A round's counted scores summed per (team, criterion) cell: how many evaluators, the exact
/// sum of their units, and how many evaluators scored each team. Memory is per cell, not per
/// score, so a round of 10,000,000 scores is revealed in about 12 bytes a cell. The individual
/// values are kept only when a statistic needs them (median, trimmed mean, stddev, min, max).
public struct CellTable: Sendable {
    public let config: RoundConfig
    public internal(set) var evaluators: [String]
    var count: [UInt32]
    var total: [Int64]
    /// The part of a cell's sum beyond Int64, for the rare grids whose sums overflow it.
    var carry: [Int: Int128] = [:]
    var evaluatorsOfTeam: [Int]
    /// (cell, units), only when asked for.
    var values: [(cell: UInt32, units: Int64)]?
    public private(set) var scoreCount = 0

    init(config: RoundConfig, evaluators: Int, keepValues: Bool) {
        self.config = config
        self.evaluators = []
        let cells = config.teams.count * config.criteria.count
        count = [UInt32](repeating: 0, count: cells)
        total = [Int64](repeating: 0, count: cells)
        evaluatorsOfTeam = [Int](repeating: 0, count: config.teams.count)
        values = keepValues ? [] : nil
    }

    init(_ other: CellTable, evaluators: [String]) {
        self = other
        self.evaluators = evaluators
    }

    func sum(_ cell: Int) -> Int128 { Int128(total[cell]) + (carry[cell] ?? 0) }

    /// A cell known only by its count and total (a tally round's decrypted cell).
    mutating func setCell(_ cell: Int, count n: Int, total t: Int64) {
        count[cell] = UInt32(n)
        total[cell] = t
        scoreCount += n
    }

    mutating func setEvaluatorsOfTeam(_ counts: [Int]) { evaluatorsOfTeam = counts }

    mutating func add(cell: Int, units: Int64) {
        count[cell] += 1
        let (s, o) = total[cell].addingReportingOverflow(units)
        if o { carry[cell, default: 0] += Int128(total[cell]) + Int128(units); total[cell] = 0 } else { total[cell] = s }
        values?.append((UInt32(cell), units))
        scoreCount += 1
    }

    /// Overwrites the sums and values once they are counted.
    public mutating func wipe() {
        for i in total.indices { total[i] = 0 }
        carry = [:]
        if values != nil { for i in values!.indices { values![i].units = 0 } }
    }
}

extension Vault {
    /// Opens a round's batches and sums them per cell (a reveal's way).
    public func openCells(_ round: Round, privateKey: Curve25519.KeyAgreement.PrivateKey, chairKey: Curve25519.Signing.PublicKey,
                          keepValues: Bool, progress: ((Int, Int) -> Void)? = nil) throws -> CellTable {
        /// The sums and the (team, evaluator) pairs seen, added a chunk's records at a time by a
        /// mutating method (plain array access in the loop, a million times).
        struct Sums {
            var table: CellTable
            var teamEvaluators = PairSet(rows: 0, columns: 0)
            var evaluatorCount = 1
            var lastPair = -1
            let criteria: Int

            mutating func add(_ evaluator: Int32, _ records: UnsafeBufferPointer<PlacedRecord>) {
                for r in records {
                    let t = Int(r.team)
                    table.add(cell: t * criteria + Int(r.criterion), units: r.units)
                    // Consecutive records of a batch mostly share their team.
                    let pair = t * evaluatorCount + Int(evaluator)
                    if pair != lastPair {
                        lastPair = pair
                        if teamEvaluators.insert(t, Int(evaluator)) { table.evaluatorsOfTeam[t] += 1 }
                    }
                }
            }
        }
        let T = round.config.teams.count
        var sums = Sums(table: CellTable(config: round.config, evaluators: 0, keepValues: keepValues), criteria: round.config.criteria.count)
        let names = try openBatches(round, privateKey: privateKey, chairKey: chairKey, progress: progress, evaluators: { n in
            sums.evaluatorCount = max(n, 1)
            sums.teamEvaluators = PairSet(rows: T, columns: sums.evaluatorCount)
        }) { e, _, records in
            sums.add(e, records)
        }
        return CellTable(sums.table, evaluators: names)
    }

    /// Opens a round's batches and lists every counted score (tests; small rounds).
    public func openRound(_ round: Round, privateKey: Curve25519.KeyAgreement.PrivateKey,
                          chairKey: Curve25519.Signing.PublicKey, progress: ((Int, Int) -> Void)? = nil) throws -> OpenedRound {
        var scores: [OpenedScore] = []
        var batchIDs: [[UInt8]] = []
        let names = try openBatches(round, privateKey: privateKey, chairKey: chairKey, progress: progress, evaluators: { _ in },
                                    batchIDs: { batchIDs = $0 }) { e, b, records in
            for r in records {
                scores.append(OpenedScore(evaluator: e, team: r.team, criterion: r.criterion, units: r.units, batch: Int32(b), seq: r.seq))
            }
        }
        return OpenedRound(config: round.config, evaluators: names, batches: batchIDs, scores: scores)
    }

    /// Opens and verifies every batch of a round, and hands the counted scores to `visit` a
    /// chunk at a time (evaluator index, batch index, the chunk's counted records).
    ///
    /// Before any decryption, the stored batches, the signed log's records and — once the round
    /// is closed — the chair-signed manifest must agree exactly (`checkStoredBatches`). Then for
    /// each batch: its header names this vault, round and round key, and its own id; its
    /// evaluator is an enrolled evaluator on the round's panel; every chunk opens under the
    /// header-bound payload key with its STREAM nonce, in order, the last one flagged; every
    /// record lies on the round's grid, no place twice; the digest over header, chunks and count
    /// is the one the log records, and the evaluator's signature over it verifies. Any failure
    /// stops everything with an integrity error naming the batch.
    ///
    /// Re-sealing supersedes, place by place: an evaluator's batches are read newest first (by
    /// the signed time in their headers, then id), and a place an evaluator's newer batch
    /// scored is skipped in its older ones. Chunks are decrypted and hashed on every core, a
    /// window of a few MiB at a time; records are then read in order on this thread.
    func openBatches(_ round: Round, privateKey: Curve25519.KeyAgreement.PrivateKey, chairKey: Curve25519.Signing.PublicKey,
                     progress: ((Int, Int) -> Void)?, evaluators: (Int) -> Void, batchIDs: ([[UInt8]]) -> Void = { _ in },
                     visit: (Int32, Int, UnsafeBufferPointer<PlacedRecord>) throws -> Void) throws -> [String] {
        guard let roundKey = round.publicKey else { throw VaultError.usage("round \(round.id) has never been opened") }
        let config = round.config
        let T = config.teams.count, C = config.criteria.count
        let (counted, stored) = try checkStoredBatches(of: round.id, signed: round.state == .draft || round.state == .open ? nil : try manifest(of: round.id))

        // The batches, their headers checked and their evaluators looked up, in reading order.
        struct Batch {
            let id: [UInt8], header: BatchFormat.Header, headerBytes: [UInt8], count: Int, chunks: Int, signature: [UInt8]
            let evaluator: Int32
        }
        var evaluatorIndex: [String: Int32] = [:]
        var evaluatorNames: [String] = []
        var evaluatorConflicts: [Set<Int>] = []
        var list: [Batch] = []
        let reader = try chunkReader()
        var rows: [(row: BatchRow, header: BatchFormat.Header)] = []
        var firstSeen: [String] = []
        for row in stored {
            let name = Hex.encode(row.id.prefix(8))
            func bad(_ why: String) -> VaultError { .integrity("batch \(name) of round \(round.id): \(why)") }
            guard let (header, length) = try? BatchFormat.Header.parse(row.header, file: "batch"), length == row.header.count else {
                throw bad("its header is malformed")
            }
            guard header.vault == id, header.round == round.id, header.roundKey == roundKey.rawRepresentation, header.batchID == row.id else {
                throw bad("its header names another vault, round, round key or batch")
            }
            let recorded = log.head(.batch, Hex.encode(row.id))
            guard recorded?.evaluator == header.evaluator, recorded?.count == row.count else {
                throw bad("it is not the batch its entry records (evaluator or size differ)")
            }
            if evaluatorIndex[header.evaluator] == nil {
                guard (try? PrincipalID(header.evaluator)) != nil else { throw bad("malformed evaluator id") }
                evaluatorIndex[header.evaluator] = Int32(firstSeen.count)
                firstSeen.append(header.evaluator)
            }
            rows.append((row, header))
        }
        // The evaluators, each record checked against the log and the chair's signature (the
        // signatures on both cores).
        let panel = Set(round.panel)
        let principals: [Principal]
        do { principals = try self.principals(firstSeen.map { try PrincipalID($0) }, verifiedWith: chairKey) } catch VaultError.notFound(let m) {
            throw VaultError.integrity("round \(round.id): a batch was sealed by someone not enrolled (\(m))")
        }
        for p in principals {
            func bad(_ why: String) -> VaultError { .integrity("a batch of round \(round.id): \(why)") }
            // Disabling looks forward: the log accepted this batch while its evaluator was
            // enabled, so it counts even if the evaluator has been disabled since.
            guard p.role == .evaluator else { throw bad("sealed by \(p.id), who is not an evaluator") }
            guard panel.contains(p.id) else { throw bad("sealed by \(p.id), who is not on the round's panel") }
            evaluatorNames.append(p.id.rawValue)
            // The same rule as `seal`'s: a team id listed in the evaluator's signed conflicts —
            // except a conflict declared after it had sealed into this round (its exemption).
            let conflicts = Set(p.conflicts(applyingTo: round.id))
            evaluatorConflicts.append(conflicts.isEmpty ? [] : Set(config.teams.indices.filter { conflicts.contains(config.teams[$0]) }))
        }
        for (row, header) in rows {
            list.append(Batch(id: row.id, header: header, headerBytes: row.header, count: row.count, chunks: row.chunks, signature: row.signature,
                              evaluator: evaluatorIndex[header.evaluator]!))
        }
        guard list.count == counted.items.count else { throw VaultError.integrity("round \(round.id): the stored batches and the log disagree") }
        list.sort { a, b in
            a.evaluator != b.evaluator ? a.evaluator < b.evaluator
                : a.header.time != b.header.time ? a.header.time > b.header.time : b.id.lexicographicallyPrecedes(a.id)
        }
        let conflictFlags = evaluatorConflicts.map { set in (0..<T).map { set.contains($0) } }
        var batchesOf = [Int](repeating: 0, count: evaluatorNames.count)
        for b in list { batchesOf[Int(b.evaluator)] += 1 }
        evaluators(evaluatorNames.count)
        batchIDs(list.map(\.id))

        let stepCounts = config.criteria.map(\.stepCount)
        let info = BatchFormat.info(vault: id, round: round.id)
        var inBatch = PairSet(rows: T, columns: C)
        var taken = PairSet(rows: T, columns: C)
        var takenBy: Int32 = -1

        /// The reading state of the batch whose chunks are being fed.
        struct Reading {
            var digest: BatchFormat.Digest
            var parser: RecordParser
            var next = 0
        }
        var reading: Reading?
        var current = -1
        var done = 0

        /// One chunk read from vault.db, decrypted and hashed on some core.
        final class Pending: @unchecked Sendable {
            // @unchecked: each is written by exactly one worker, then read by this thread.
            let batch: Int, index: Int, last: Bool
            var ct: [UInt8]
            var plain: [UInt8] = []
            var hash: [UInt8] = []
            var opened = false
            init(batch: Int, index: Int, last: Bool, ct: [UInt8]) { self.batch = batch; self.index = index; self.last = last; self.ct = ct }
        }
        var keys: [SymmetricKey?] = Array(repeating: nil, count: list.count)
        var decoded: [PlacedRecord] = []
        var window: [Pending] = []
        var windowBytes = 0

        func startBatch(_ i: Int) throws {
            let b = list[i]
            current = i
            reading = Reading(digest: BatchFormat.Digest(header: b.headerBytes), parser: RecordParser(teams: T, criteria: C, stepCounts: stepCounts))
            inBatch.removeAll()
            if b.evaluator != takenBy { taken.removeAll(); takenBy = b.evaluator }
        }

        func finishBatch() throws {
            guard current >= 0 else { return }
            let b = list[current]
            func bad(_ why: String) -> VaultError { .integrity("batch \(Hex.encode(b.id.prefix(8))) of round \(round.id): \(why)") }
            guard var r = reading else { return }
            guard r.next == b.chunks else { throw bad("it should hold \(b.chunks) chunks but holds \(r.next)") }
            guard r.parser.isComplete, r.parser.count == b.count else { throw bad("it should hold \(b.count) scores but holds \(r.parser.count)") }
            let digest = r.digest.finalize(count: b.count)
            // The digest must be the one the signed log records: replaying that entry verified the
            // evaluator's signature over it (LogState.apply), so it is not checked a second time.
            guard let recorded = log.head(.batch, Hex.encode(b.id)), recorded.digest == Hex.encode(digest) else {
                throw bad("it is not the batch its entry records (its digest differs)")
            }
            guard recorded.signature == Base64.encode(b.signature) else {
                throw bad("its stored signature is not the one its entry records")
            }
            r.parser.wipe()
            if batchesOf[Int(b.evaluator)] > 1 { taken.formUnion(inBatch) }
            reading = nil
            keys[current] = nil
            done += 1
            progress?(done, list.count)
        }

        /// Decrypts and hashes the window on every core, then reads its records in order.
        func flush() throws {
            guard !window.isEmpty else { return }
            let work = window, keys = keys
            try Parallel.forEach(work.count) { i in
                let p = work[i]
                p.hash = SHA256.hash(data: p.ct)
                guard p.ct.count > AES.GCM.tagByteCount, let key = keys[p.batch], let cipher = try? AES.GCM.KeyedCipher(key: key) else { return }
                p.plain = [UInt8](repeating: 0, count: p.ct.count - AES.GCM.tagByteCount)
                let nonce = BatchFormat.nonce(p.index, last: p.last)
                p.opened = p.ct.withUnsafeBytes { ct in
                    nonce.withUnsafeBytes { n in
                        p.plain.withUnsafeMutableBytes { cipher.open(ct, nonce: n, authenticating: UnsafeRawBufferPointer(start: nil, count: 0), into: $0) }
                    }
                }
            }
            for p in work {
                if p.batch != current {
                    try finishBatch()
                    try startBatch(p.batch)
                }
                let b = list[p.batch]
                func bad(_ why: String) -> VaultError { .integrity("batch \(Hex.encode(b.id.prefix(8))) of round \(round.id): \(why)") }
                guard p.index == reading!.next else { throw bad("chunk \(reading!.next) is missing or out of place") }
                guard p.last || p.ct.count == BatchFormat.chunkCiphertextSize else { throw bad("chunk \(p.index) is cut short") }
                guard p.ct.count <= BatchFormat.chunkCiphertextSize else { throw bad("chunk \(p.index) is longer than a chunk") }
                guard p.opened else { throw bad("chunk \(p.index) does not open (changed, reordered or moved from another batch)") }
                reading!.digest.add(chunkHash: p.hash)
                reading!.next += 1
                let multi = batchesOf[Int(b.evaluator)] > 1
                let conflicted = conflictFlags[Int(b.evaluator)]
                decoded.removeAll(keepingCapacity: true)
                do {
                    try p.plain.withUnsafeBytes { try reading!.parser.feed($0, into: &decoded) }
                } catch let e as RecordError {
                    throw bad(e.why)
                }
                // Each place once per batch, never a declared conflict; a place this evaluator's
                // newer batch scored is skipped. The kept records are compacted in place. The
                // place sets are moved out of the enclosing scope for the loop, so that it works
                // on plain local arrays.
                var seen = PairSet(rows: 0, columns: 0)
                swap(&seen, &inBatch)
                defer { swap(&seen, &inBatch) }
                let newer = taken
                try decoded.withUnsafeMutableBufferPointer { records in
                    var kept = 0
                    for i in 0..<records.count {
                        let r = records[i]
                        let t = Int(r.team), c = Int(r.criterion)
                        guard seen.insert(t, c) else {
                            throw bad("team \(config.teams[t]), criterion \(config.criteria[c].id) is scored twice")
                        }
                        if conflicted[t] { throw bad("it scores team \(config.teams[t]), a declared conflict of \(b.header.evaluator)") }
                        if multi && newer.contains(t, c) { continue }
                        records[kept] = r
                        kept += 1
                    }
                    try visit(b.evaluator, p.batch, UnsafeBufferPointer(rebasing: records[0..<kept]))
                }
                decoded.withUnsafeMutableBytes { secureWipe($0) }  // the values go once counted
                secureWipe(&p.plain)
            }
            window.removeAll(keepingCapacity: true)
            windowBytes = 0
        }

        // The payload keys, on every core: HPKE to the round key, exported under each stored
        // header (an X25519 exchange and a key schedule per batch: most of a reveal's cost when a
        // round has a thousand batches of a thousand scores).
        try keys.withUnsafeMutableBufferPointer { slots in
            let headers = list.map { ($0.header.enc, $0.headerBytes) }
            try Parallel.forEach(headers.count) { i in
                slots[i] = BatchFormat.payloadKey(privateKey: privateKey, enc: headers[i].0, headerBytes: headers[i].1, info: info)
            }
        }
        for i in list.indices {
            let b = list[i]
            guard keys[i] != nil else {
                throw VaultError.integrity("batch \(Hex.encode(b.id.prefix(8))) of round \(round.id): its encapsulated key is invalid")
            }
            var seen = 0
            try reader.chunks(of: b.id) { n, ct in
                seen += 1
                window.append(Pending(batch: i, index: n, last: n == b.chunks - 1, ct: Array(ct)))
                windowBytes += ct.count
                if windowBytes >= 4 << 20 { try flush() }
            }
            if seen == 0 { throw VaultError.integrity("batch \(Hex.encode(b.id.prefix(8))) of round \(round.id): its chunks are missing") }
            if windowBytes >= 1 << 20 { try flush() }
        }
        try flush()
        try finishBatch()
        return evaluatorNames
    }
}


extension Vault {
    /// Rebuilds a round's private key from its holders: the whole key unwrapped by one holder
    /// when k = 1, or k Shamir shares combined. The result must match the round's chair-signed
    /// public key, so wrong or forged shares are an integrity error, never a wrong key.
    public func roundPrivateKey(_ round: Round, holders: [Actor]) throws -> Curve25519.KeyAgreement.PrivateKey {
        guard let publicKey = round.publicKey else { throw VaultError.usage("round \(round.id) has never been opened") }
        let k = round.config.reveal.threshold
        let distinct = Dictionary(holders.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        guard distinct.count >= k else {
            throw VaultError.denied(policyIDs: [])  // the policy's threshold rule says the same; this is the cryptographic floor
        }
        let info = Self.roundKeyInfo(vaultID: id, roundID: round.id)
        let purpose = k == 1 ? "round-key" : "round-share"
        var pieces: [SecureBytes] = []
        for holder in distinct.values.sorted(by: { $0.id < $1.id }) where round.config.reveal.holders.contains(holder.id) {
            guard let wrap = try loadWrap(purpose: purpose, scope: round.id, recipient: holder.id) else {
                if round.state == .shredded { throw VaultError.usage("round \(round.id) was shredded: its key is gone and its seals can never be opened") }
                throw VaultError.integrity("the \(purpose) wrap of round \(round.id) for \(holder.id) is missing")
            }
            do {
                pieces.append(try HPKE.open(wrap.ct, encapsulatedKey: wrap.enc, using: holder.keys.agreement, info: info,
                                            authenticating: Array("\(purpose):\(holder.id.rawValue)".utf8)))
            } catch {
                throw VaultError.integrity("the \(purpose) wrap of round \(round.id) for \(holder.id) does not open")
            }
            if pieces.count == k { break }
        }
        guard pieces.count >= k else { throw VaultError.denied(policyIDs: []) }
        return try Self.combineRoundKey(pieces, round: round, publicKey: publicKey, from: "")
    }

    /// The round key from k pieces — the key itself when k = 1, else Shamir shares — checked
    /// against the round's chair-signed public key, so wrong or forged pieces are an integrity
    /// error, never a wrong key. `from` says where the pieces came from, for the message.
    static func combineRoundKey(_ pieces: [SecureBytes], round: Round, publicKey: Curve25519.KeyAgreement.PublicKey,
                                from: String) throws -> Curve25519.KeyAgreement.PrivateKey {
        let raw: SecureBytes
        do {
            raw = round.config.reveal.threshold == 1 ? pieces[0] : try Shamir.combine(pieces.map { try Shamir.Share(serialized: $0) })
        } catch {
            throw VaultError.integrity("the key shares\(from.isEmpty ? " of" : " released for") round \(round.id) are malformed")
        }
        guard let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw), key.publicKey == publicKey else {
            throw VaultError.integrity("the key rebuilt for round \(round.id)\(from) does not match its signed public key")
        }
        return key
    }

}
