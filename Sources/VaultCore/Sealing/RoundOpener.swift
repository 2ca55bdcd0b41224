import Foundation
import VaultCrypto

/// One decrypted score, as a reveal counts it: indexes into its `OpenedRound`, no names.
/// `units` is the secret: the score in steps above the criterion's minimum. Comments are never
/// decrypted into this.
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

/// Every verified score of a round, compact (32 bytes a score), with the names they index.
public struct OpenedRound: Sendable {
    public let config: RoundConfig
    /// The evaluator ids that sealed, in order of first batch.
    public let evaluators: [String]
    /// Each batch's signed seal time (microseconds) and id.
    let batches: [(time: Int64, id: [UInt8])]
    public internal(set) var scores: [OpenedScore]

    public func evaluatorID(of s: OpenedScore) -> String { evaluators[Int(s.evaluator)] }
    public func teamID(of s: OpenedScore) -> String { config.teams[Int(s.team)] }
    public func criterionID(of s: OpenedScore) -> String { config.criteria[Int(s.criterion)].id }
    public func batchID(of s: OpenedScore) -> [UInt8] { batches[Int(s.batch)].id }

    /// Overwrites the decrypted values once they are counted.
    public mutating func wipe() { for i in scores.indices { scores[i].units = 0 } }

    /// Keeps only the latest score per (evaluator, team, criterion): re-sealing supersedes
    /// (design: Concepts). "Latest" is by the signed seal time, then batch id, then position, so a writer
    /// of vault.db cannot change which one counts without breaking a signature.
    public func latestOnly() -> OpenedRound {
        let order = batches.indices.sorted { a, b in
            batches[a].time != batches[b].time ? batches[a].time < batches[b].time : batches[a].id.lexicographicallyPrecedes(batches[b].id)
        }
        var rank = [Int](repeating: 0, count: batches.count)
        for (r, b) in order.enumerated() { rank[b] = r }
        func isNewer(_ a: OpenedScore, than b: OpenedScore) -> Bool {
            rank[Int(a.batch)] != rank[Int(b.batch)] ? rank[Int(a.batch)] > rank[Int(b.batch)] : a.seq > b.seq
        }
        let teams = config.teams.count, criteria = config.criteria.count
        let places = evaluators.count * teams * criteria
        var kept: [OpenedScore] = []
        kept.reserveCapacity(scores.count)
        if places <= 1 << 23 {
            // A slot per possible place (at most 32 MiB): no hashing for the common sizes.
            var best = [Int32](repeating: -1, count: places)
            for (i, s) in scores.enumerated() {
                let p = (Int(s.evaluator) * teams + Int(s.team)) * criteria + Int(s.criterion)
                if best[p] < 0 || isNewer(s, than: scores[Int(best[p])]) { best[p] = Int32(i) }
            }
            for i in best where i >= 0 { kept.append(scores[Int(i)]) }
        } else {
            var best: [Int: Int] = [:]
            for (i, s) in scores.enumerated() {
                let p = (Int(s.evaluator) * teams + Int(s.team)) * criteria + Int(s.criterion)
                if let b = best[p], !isNewer(s, than: scores[b]) { continue }
                best[p] = i
            }
            for i in best.values.sorted() { kept.append(scores[i]) }
        }
        return OpenedRound(config: config, evaluators: evaluators, batches: batches, scores: kept)
    }
}

/// A group of batches read from vault.db, waiting to be opened: ciphertexts back to back.
private struct BatchGroup: @unchecked Sendable {
    // @unchecked: filled by the reading thread, then only read by the opening threads.
    struct Batch {
        let id: [UInt8], enc: [UInt8], count: Int, trailer: [UInt8]
        let rows: Range<Int>
    }
    var batches: [Batch] = []
    var seq: [Int] = []
    var team: [Int32] = []
    var criterion: [Int32] = []
    var ctEnds: [Int] = []
    var ct: [UInt8] = []
    var scoreCount: Int { seq.count }
}

/// What opening one batch gave: its signed facts and scores, or why it failed.
private struct OpenedBatch {
    var evaluator = "", time: Int64 = 0, signature: [UInt8] = [], digest: [UInt8] = []
    var scores: [(team: Int32, criterion: Int32, units: Int64, seq: Int32)] = []
    var failure: String?
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
        let raw: SecureBytes
        do {
            raw = k == 1 ? pieces[0] : try Shamir.combine(pieces.map { try Shamir.Share(serialized: $0) })
        } catch {
            throw VaultError.integrity("the key shares of round \(round.id) are malformed")
        }
        guard let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw), key.publicKey == publicKey else {
            throw VaultError.integrity("the key rebuilt for round \(round.id) does not match its signed public key")
        }
        return key
    }

    /// Opens and verifies every batch of a round. For each batch: the trailer opens (HPKE,
    /// its AAD); every score opens with the AAD of the place stored beside it; the positions run
    /// 0…count−1; the evaluator's signature over the batch digest verifies against an enrolled,
    /// enabled evaluator (checked with `chairKey`); values lie on their criterion's grid. Any
    /// failure stops everything with an integrity error naming the batch. The number of batches
    /// must equal the number of successful `seal` entries the audit log records for the round.
    ///
    /// Batches are read in groups; while one thread reads the next group from vault.db, the
    /// batches of the current group are opened on every core (each batch on one thread, into
    /// its own result slot). Evaluator lookups and signature checks follow on this thread.
    public func openRound(_ round: Round, privateKey: Curve25519.KeyAgreement.PrivateKey,
                          chairKey: Curve25519.Signing.PublicKey, progress: ((Int, Int) -> Void)? = nil) throws -> OpenedRound {
        guard let roundKey = round.publicKey else { throw VaultError.usage("round \(round.id) has never been opened") }
        let info = SealFormat.info(vaultID: id, roundID: round.id, roundKey: roundKey)
        var evaluatorIndex: [String: Int32] = [:]
        var evaluatorNames: [String] = []
        var evaluatorKeys: [Curve25519.Signing.PublicKey] = []
        /// Per evaluator, the team indexes it declared a conflict with: its scores for them never count.
        var evaluatorConflicts: [Set<Int32>] = []
        func evaluator(_ name: String, batch: String) throws -> Int32 {
            if let i = evaluatorIndex[name] { return i }
            guard let pid = try? PrincipalID(name) else { throw VaultError.integrity("batch \(batch): malformed evaluator id") }
            let p: Principal
            do { p = try principal(pid, verifiedWith: chairKey) } catch VaultError.notFound {
                throw VaultError.integrity("batch \(batch): sealed by \(name), who is not enrolled")
            }
            // Disabling looks forward: the log accepted this batch while its evaluator was enabled,
            // so it counts even if the evaluator has been disabled since.
            guard p.role == .evaluator else { throw VaultError.integrity("batch \(batch): sealed by \(name), who is not an evaluator") }
            guard round.panel.contains(pid) else { throw VaultError.integrity("batch \(batch): sealed by \(name), who is not on the round's panel") }
            evaluatorNames.append(name)
            evaluatorKeys.append(p.publicKeys.signing)
            // The same rule as `seal`'s: a team id listed in the evaluator's signed conflicts.
            evaluatorConflicts.append(Set(round.config.teams.indices.filter { p.conflicts.contains(round.config.teams[$0]) }.map { Int32($0) }))
            evaluatorIndex[name] = Int32(evaluatorNames.count - 1)
            return Int32(evaluatorNames.count - 1)
        }

        // Accounting before any decryption: the stored batches, the signed seal entries and — once
        // the round is closed — the chair-signed manifest must agree exactly.
        let counted = try checkStoredBatches(of: round.id, signed: round.state == .draft || round.state == .open ? nil : try manifest(of: round.id))
        let batchCount = counted.items.count, scoreCount = counted.scoreCount

        var scores: [OpenedScore] = []
        scores.reserveCapacity(scoreCount)
        var batchFacts: [(time: Int64, id: [UInt8])] = []
        let teamNames = NameTable(round.config.teams), criterionNames = NameTable(round.config.criteria.map(\.id))
        let teamFields = round.config.teams.map(CanonicalEncoder.field), criterionFields = round.config.criteria.map { CanonicalEncoder.field($0.id) }
        let stepCounts = round.config.criteria.map(\.stepCount)
        let cursor = try batchCursor(round: round.id)

        /// Reads batches until the group holds about 64k scores (or the round ends).
        func readGroup() throws -> BatchGroup {
            var g = BatchGroup()
            while g.scoreCount < 65_536, let b = try cursor.next() {
                let start = g.scoreCount
                try cursor.scores(of: b.id) { seq, team, criterion, ct in
                    g.seq.append(seq)
                    g.team.append(Int32(teamNames.index(of: team) ?? -1))
                    g.criterion.append(Int32(criterionNames.index(of: criterion) ?? -1))
                    g.ct.append(contentsOf: ct)
                    g.ctEnds.append(g.ct.count)
                }
                g.batches.append(.init(id: b.id, enc: b.enc, count: b.count, trailer: b.trailer, rows: start..<g.scoreCount))
            }
            return g
        }

        /// Opens one batch of `g` (everything but the evaluator's signature, which needs the store).
        func open(_ b: BatchGroup.Batch, in g: BatchGroup) -> OpenedBatch {
            var out = OpenedBatch()
            func fail(_ why: String) -> OpenedBatch { out.scores = []; out.failure = why; return out }
            guard b.id.count == 16, b.count >= 1 else { return fail("malformed batch record") }
            guard let recipient = try? HPKE.Recipient(privateKey: privateKey, encapsulatedKey: b.enc, info: info) else {
                return fail("its encapsulated key is invalid")
            }
            guard let plain = try? recipient.open(b.trailer, sequenceNumber: UInt64(b.count),
                                                  authenticating: SealFormat.trailerAAD(vaultID: id, roundID: round.id, batchID: b.id, count: b.count)) else {
                return fail("its trailer does not open (changed, moved or re-keyed)")
            }
            guard let trailer = SealFormat.parseTrailer(plain) else { return fail("its trailer is malformed") }
            guard let opener = try? recipient.makeOpener() else { return fail("its encapsulated key is invalid") }
            out.evaluator = trailer.evaluator; out.time = trailer.time; out.signature = trailer.signature
            var aad = SealFormat.ScoreAAD(vaultID: id, roundID: round.id, batchID: b.id)
            let digest = SealFormat.BatchDigest(vaultID: id, roundID: round.id, batchID: b.id, enc: b.enc, evaluator: trailer.evaluator,
                                                time: trailer.time, count: b.count)
            var plaintext = [UInt8](repeating: 0, count: SealFormat.scorePadding)
            defer { secureWipe(&plaintext) }
            out.scores.reserveCapacity(b.rows.count)
            return g.ct.withUnsafeBytes { all -> OpenedBatch in
                for (n, r) in b.rows.enumerated() {
                    let seq = g.seq[r], t = Int(g.team[r]), c = Int(g.criterion[r])
                    guard seq == n else { return fail("score \(n) is missing or out of place") }
                    guard t >= 0, c >= 0 else { return fail("score \(seq) is placed at an unknown team or criterion") }
                    let ct = UnsafeRawBufferPointer(rebasing: all[(r == 0 ? 0 : g.ctEnds[r - 1])..<g.ctEnds[r]])
                    guard ct.count >= AES.GCM.tagByteCount else { return fail("score \(seq) does not open (changed, or moved to another place)") }
                    if plaintext.count != ct.count - AES.GCM.tagByteCount {
                        secureWipe(&plaintext)
                        plaintext = [UInt8](repeating: 0, count: ct.count - AES.GCM.tagByteCount)
                    }
                    let opened = plaintext.withUnsafeMutableBytes { p in
                        aad.with(seq: seq, team: teamFields[t], criterion: criterionFields[c]) { opener.open(ct, sequenceNumber: UInt64(seq), authenticating: $0, into: p) }
                    }
                    guard opened else { return fail("score \(seq) does not open (changed, or moved to another place)") }
                    guard let units = plaintext.withUnsafeBytes({ SealFormat.units(of: $0) }), units >= 0, units <= stepCounts[c] else {
                        return fail("score \(seq) is malformed or off its criterion's grid")
                    }
                    digest.add(team: teamFields[t], criterion: criterionFields[c], ciphertext: ct)
                    out.scores.append((Int32(t), Int32(c), units, Int32(seq)))
                }
                guard b.rows.count == b.count else { return fail("it should hold \(b.count) scores but holds \(b.rows.count)") }
                out.digest = digest.finalize()
                return out
            }
        }

        var group = try readGroup()
        var opened = 0
        while !group.batches.isEmpty {
            let current = group
            var results = [OpenedBatch](repeating: OpenedBatch(), count: current.batches.count)
            var next = BatchGroup()
            // Thread work: item 0 reads the next group (the only one touching the connection);
            // item i opens batch i−1 of this group into results[i−1] (its own slot).
            try results.withUnsafeMutableBufferPointer { slots in
                try Parallel.forEach(1 + current.batches.count) { i in
                    if i == 0 { next = try readGroup() } else { slots[i - 1] = open(current.batches[i - 1], in: current) }
                }
            }
            for (b, r) in zip(current.batches, results) {
                let name = Hex.encode(b.id.prefix(8))
                if let why = r.failure { throw VaultError.integrity("batch \(name) of round \(round.id): \(why)") }
                let who = try evaluator(r.evaluator, batch: name)
                guard evaluatorKeys[Int(who)].isValidSignature(r.signature, for: r.digest) else {
                    throw VaultError.integrity("batch \(name) of round \(round.id): the evaluator's signature does not verify")
                }
                let recorded = log.head(.batch, Hex.encode(b.id))
                guard recorded?.digest == Hex.encode(r.digest), recorded?.evaluator == r.evaluator, recorded?.count == b.count else {
                    throw VaultError.integrity("batch \(name) of round \(round.id) is not the batch its seal entry records (evaluator, digest or size differ)")
                }
                let index = Int32(batchFacts.count)
                batchFacts.append((r.time, b.id))
                // A conflict is a hard rule, whatever a policy said: a client that skipped the check
                // when sealing does not get its score counted.
                if let conflicted = r.scores.first(where: { evaluatorConflicts[Int(who)].contains($0.team) }) {
                    throw VaultError.integrity("batch \(name) of round \(round.id) scores team \(round.config.teams[Int(conflicted.team)]), a declared conflict of \(r.evaluator)")
                }
                for s in r.scores { scores.append(OpenedScore(evaluator: who, team: s.team, criterion: s.criterion, units: s.units, batch: index, seq: s.seq)) }
                opened += 1
            }
            for i in results.indices { for j in results[i].scores.indices { results[i].scores[j].units = 0 } }
            progress?(opened, batchCount)
            group = next
        }
        return OpenedRound(config: round.config, evaluators: evaluatorNames, batches: batchFacts, scores: scores)
    }
}
