import Foundation
import VaultCrypto

/// A tally round's steps in the vault (design: Tally rounds): the key ceremony started and
/// finished by the chair, the round opened on its joint key.
extension Vault {
    /// `ceremony start R --out FILE`: the request the holders answer — the round's definition,
    /// its holders with their enrolled keys, the threshold — signed by the chair. Only a draft
    /// tally round without a ceremony; audited (`ceremony.start`), decided as the round's opening.
    public func startCeremony(_ roundID: String, actor: Actor) throws -> CeremonyRequestFile {
        let holders = try round(roundID, verifiedWith: actor.chairKey).config.reveal.holders.count
        let (current, decision, target) = try beginTransition(roundID, action: "round.open", from: .draft, actor: actor,
                                                              refusal: "a key ceremony is for a draft round", context: ["holders": .long(Int64(holders))])
        let request = try refusing(actor, action: "ceremony.start", target: target) { () throws -> CeremonyRequestFile in
            guard current.config.mode == .tally else { throw VaultError.usage("round \(roundID) is a sealed round: it needs no key ceremony") }
            guard current.ceremony == nil else { throw VaultError.usage("round \(roundID) has finished its key ceremony; open it with `round open \(roundID)`") }
            let holders = try current.config.reveal.holders.map { try principal($0, verifiedWith: actor.chairKey) }
            return try CeremonyRequestFile.make(vault: id, config: current.config, holders: holders, chair: actor.keys, created: Timestamp.now())
        }
        try recordAttempt(AuditRecord(actor: actor, action: "ceremony.start", target: target, decision: decision,
                                      details: ["request_sha256": .string(Hex.encode(request.digest))]), signer: actor.keys.signing)
        return request
    }

    /// `ceremony finish R.ceremony --commit … --verified …`: checks the chair's own request (this
    /// vault, this draft, the holders' keys as enrolled now), every holder's commit and verified
    /// statement, and stores the ceremony in the round's record (a new chair-signed version, still
    /// a draft) with its entry naming the transcript and the joint key.
    public func finishCeremony(request bytes: [UInt8], file: String, commits: [(bytes: [UInt8], file: String)],
                               statements: [(bytes: [UInt8], file: String)], actor: Actor) throws -> CeremonyRecord {
        let request = try CeremonyRequestFile(bytes: bytes, file: file)
        let roundID = request.config.id
        let (current, decision, target) = try beginTransition(roundID, action: "round.open", from: .draft, actor: actor,
                                                              refusal: "a key ceremony is for a draft round",
                                                              context: ["holders": .long(Int64(request.holders.count))])
        let record = try refusing(actor, action: "ceremony.finish", target: target) { () throws -> CeremonyRecord in
            guard request.vault == id else { throw VaultError.invalidData("\(file) is a ceremony of vault \(request.vault); this vault is \(id)") }
            guard request.requesterKeys.signing == actor.principal.publicKeys.signing else {
                throw VaultError.integrity("\(file) was not made by this chair's key")
            }
            guard request.config == current.config, current.config.mode == .tally else {
                throw VaultError.integrity("\(file) is not for draft round \(roundID) as this vault holds it")
            }
            guard current.ceremony == nil else { throw VaultError.usage("round \(roundID) has finished its key ceremony already") }
            for (id, keys) in request.holders {
                guard try principal(id, verifiedWith: actor.chairKey).publicKeys == keys else {
                    throw VaultError.usage("\(id)'s key changed since the ceremony started; start it again")
                }
            }
            return try CeremonyRecord(request: request, commits: commits, statements: statements)
        }
        let updated = Round(config: current.config, state: .draft, policyVersion: nil, publicKey: nil, version: current.version + 1,
                            panel: [], ceremony: record.bytes)
        try write {
            guard try round(roundID, verifiedWith: actor.chairKey).version == current.version else {
                throw VaultError.usage("round \(roundID) changed meanwhile")
            }
            let object = try store(updated, signedBy: actor.keys.signing, replacing: true)
            try appendAudit(AuditRecord(actor: actor, action: "ceremony.finish", target: target, decision: decision,
                                        details: ["transcript_sha256": .string(Hex.encode(record.transcript.digest)),
                                                  "joint_key": .string(Hex.encode(record.jointKey.encoded(compressed: false)))]),
                            signer: actor.keys.signing, objects: [object])
        }
        return record
    }
}

extension Round {
    /// A tally round's ceremony, read back and checked (nil for a sealed round or before the
    /// ceremony is finished).
    public func ceremonyRecord() throws -> CeremonyRecord? { try ceremony.map { try CeremonyRecord(bytes: $0) } }
}

extension Vault {
    /// The largest tally batch file `import` reads (about 380,000 scores of a 201-value grid).
    static let maxTallyBatchBytes = 1 << 30

    /// `import` of a tally round's batch: the checks of a sealed round's batch (this vault, an
    /// open round, its joint key, a panel evaluator, a sane time, no conflicted team, the
    /// policy), then every score's range proof, before anything is stored. Stored as a sealed
    /// batch is (header, records in chunks, count, signature) with the same signed entry, so
    /// manifests, receipts and the log's replay treat both alike.
    func importTallyBatch(path: String, actor: Actor, target: inout String) throws -> ImportOutcome {
        let bytes = try Files.read(path, what: "batch", limit: Self.maxTallyBatchBytes)
        guard let roundID = TallyBatch.roundID(of: bytes) else { throw VaultError.invalidData("\(path) is not a whole tally batch; ask its sender for it again") }
        target = "round/\(roundID)"
        let round: Round
        do { round = try self.round(roundID, verifiedWith: actor.chairKey) } catch VaultError.notFound {
            throw VaultError.notFound("\(path) is for round \(roundID), which this vault does not have")
        }
        guard round.config.mode == .tally else { throw VaultError.invalidData("\(path) is a tally batch, but round \(roundID) is a sealed round") }
        let batch = try TallyBatch(bytes: bytes, config: round.config, file: path)
        let h = batch.header, name = h.batchName
        guard h.vault == id else { throw VaultError.invalidData("\(path) is a batch for vault \(h.vault); this vault is \(id)") }
        if let known = log.head(.batch, name) {
            guard known.round == roundID, known.evaluator == h.evaluator, known.count == batch.records.count, known.digest == Hex.encode(batch.digest) else {
                throw VaultError.integrity("\(path) reuses the id of batch \(name.prefix(16)), already imported with other contents")
            }
            return ImportOutcome(file: path, batch: name, round: roundID, evaluator: h.evaluator, scores: batch.records.count, seq: nil)
        }
        guard round.state == .open else {
            throw VaultError.usage("round \(roundID) is \(round.state.rawValue); batches can be imported only while it is open")
        }
        guard let ceremony = try round.ceremonyRecord(), h.jointKey == ceremony.jointKey.encoded(compressed: false) else {
            throw VaultError.invalidData("\(path) is sealed to another key than round \(roundID)'s joint key (a descriptor of another vault or ceremony?)")
        }
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        guard h.time > 0 && h.time <= now + 86_400_000_000 else {
            throw VaultError.invalidData("\(path) says it was sealed at a time more than a day from now (the evaluator's clock is wrong); ask for it again")
        }
        let pid = try PrincipalID(h.evaluator)
        let evaluator: Principal
        do { evaluator = try principal(pid, verifiedWith: actor.chairKey) } catch VaultError.notFound {
            throw VaultError.permission("\(path) was sealed by \(h.evaluator), who is not enrolled in this vault")
        }
        guard evaluator.role == .evaluator, evaluator.enabled, round.panel.contains(pid) else {
            throw VaultError.permission("\(path) was sealed by \(h.evaluator), who is not an enabled evaluator on the panel of round \(roundID)")
        }
        // The places are in the clear here: a declared conflict is refused at import too.
        let conflicts = Set(evaluator.conflicts(applyingTo: roundID))
        if let r = batch.records.first(where: { conflicts.contains(round.config.teams[$0.team]) }) {
            throw VaultError.permission("\(path) scores team \(round.config.teams[r.team]), a declared conflict of \(h.evaluator)")
        }
        guard batch.isSigned(by: evaluator.publicKeys.signing) else {
            throw VaultError.integrity("\(path): the signature of \(h.evaluator) does not verify (changed after sealing?)")
        }
        _ = try TallyCounting.verifyAndSum(config: round.config, key: Tally.PublicKey(ceremony.jointKey), vault: id, inputs: batch.inputs)
        let decision = try authorize(PolicyRequest(principal: Self.attributes(of: actor.principal), action: "import",
                                                   resource: ["round": round.policyAttributes]),
                                     actor: actor, target: target, details: ["batch": .string(name), "evaluator": .string(h.evaluator)])
        let receipt = try write {
            let now = try self.round(roundID, verifiedWith: actor.chairKey)
            guard now.state == .open, now.ceremony == round.ceremony else {
                throw VaultError.usage("round \(roundID) is \(now.state.rawValue); batches can be imported only while it is open")
            }
            // The records are stored straight from the file's bytes, 64 KiB a row.
            let records = batch.recordBytes(of: bytes)
            let store = try batchChunkInserter(batch: h.batchID)
            var n = 0
            for start in stride(from: records.startIndex, to: records.endIndex, by: BatchFormat.chunkSize) {
                try records[start..<min(start + BatchFormat.chunkSize, records.endIndex)].withUnsafeBytes { try store.add(index: n, ciphertext: $0) }
                n += 1
            }
            store.finish()
            let sealed = SealedBatch(batchID: h.batchID, round: roundID, evaluator: h.evaluator, headerBytes: batch.headerBytes, count: batch.records.count,
                                     chunks: n, trailer: [], digest: batch.digest, signature: batch.signature)
            return try acceptBatch(sealed, importer: actor, decision: decision, action: "import")
        }
        return ImportOutcome(file: path, batch: name, round: roundID, evaluator: h.evaluator, scores: batch.records.count, seq: receipt.seq)
    }
}

extension Vault {
    /// A tally round's stored batches, each read back as the file its evaluator signed and
    /// checked against the signed log (its row, its digest), in manifest (batch id) order.
    func storedTallyBatches(_ round: Round, manifest: Manifest?) throws -> (manifest: Manifest, files: [[UInt8]], batches: [TallyBatch]) {
        let (counted, rows) = try checkStoredBatches(of: round.id, signed: manifest)
        let reader = try chunkReader()
        var files: [[UInt8]] = [], batches: [TallyBatch] = []
        for row in rows {
            var records: [UInt8] = [], expected = 0
            try reader.chunks(of: row.id) { n, bytes in
                guard n == expected else { throw VaultError.integrity("batch \(Hex.encode(row.id.prefix(8))) of round \(round.id) lacks chunk \(expected)") }
                records += bytes
                expected += 1
            }
            let file = TallyBatch.reassemble(header: row.header, records: records, count: row.count, signature: row.signature)
            let batch = try TallyBatch(bytes: file, config: round.config, file: "batch \(Hex.encode(row.id.prefix(8))) in vault.db")
            // The evaluator's signature over this digest was checked at import and by every
            // replay of the log; the digest recorded there must be this batch's.
            guard expected == row.chunks, log.head(.batch, batch.header.batchName)?.digest == Hex.encode(batch.digest) else {
                throw VaultError.integrity("batch \(batch.header.batchName.prefix(16)) of round \(round.id) is not the batch its entry records")
            }
            files.append(file)
            batches.append(batch)
        }
        return (counted, files, batches)
    }

    /// A tally round's reveal request: its first policy question as for any reveal, then the
    /// counted batches, the panel's keys, the ceremony and the manifest root, signed.
    func buildTallyRevealRequest(_ asked: [RevealRequest], round: Round, actor: Actor, travelling: Bool) throws -> TallyRevealRequestFile {
        let target = "round/\(round.id)"
        let reveals = asked.map { r in
            RevealRequestFile.Asked(reveal: DeclaredReveal(stat: r.stat, by: r.by, precision: r.precision, advance: r.advance, trim: r.trim),
                                    declared: round.config.declaration(stat: r.stat, by: r.by, precision: r.precision, advance: r.advance, trim: r.trim) != nil)
        }
        return try refusing(actor, action: "reveal", target: target) {
            if let r = asked.first(where: { !RoundMode.tallyStatistics.contains($0.stat) }) {
                throw VaultError.usage("round \(round.id) is a tally round: \(r.stat.rawValue) needs individual scores, which it never decrypts (count, mean, weighted_total or rank)")
            }
            if travelling {
                guard round.state == .closed else {
                    throw VaultError.usage("round \(round.id) is \(round.state.rawValue); a reveal request needs a closed round (its manifest is what the holders approve)")
                }
                for (r, a) in zip(asked, reveals) where !a.declared {
                    throw VaultError.usage("a reveal request asks only for what the round declares: " + Self.undeclared(r, in: round.config))
                }
            }
            guard round.ceremony != nil, round.state != .draft else { throw VaultError.usage("round \(round.id) has never been opened") }
            let stored = try storedTallyBatches(round, manifest: round.state == .closed ? try manifest(of: round.id) : nil)
            let panel = try round.panel.map { try principal($0, verifiedWith: actor.chairKey) }
            return try TallyRevealRequestFile.make(vault: id, round: round, reveals: reveals, manifestRoot: stored.manifest.root, batchFiles: stored.files,
                                                   panel: panel, minCell: TallyRevealRequestFile.minimumCell, requester: actor, created: Timestamp.now())
        }
    }

    /// The completion of a tally round's reveal: the request is this chair's and still the
    /// round's (definition, ceremony, manifest root); every approval is a holder's for exactly
    /// it; k holders' partial decryptions of every cell — each proof checked against the cells
    /// the chair recomputes from vault.db — give the totals; then the reveal runs as any other
    /// (policy, statistics, audit). Published, it writes the tally record with the signed result.
    func revealTally(_ items: [(request: RevealRequest, publish: Bool)], request: TallyRevealRequestFile, approvals: [(bytes: [UInt8], file: String)],
                     actor: Actor, coHolders: [Actor], progress: ((Int, Int) -> Void)?) throws -> [RevealOutcome] {
        let target = "round/\(request.round)"
        let (round, fromFiles) = try refusing(actor, action: "reveal", target: target) { () throws -> (Round, [ApprovalFile]) in
            let round = try checkRevealRequest(.tally(request), items: items, actor: actor)
            guard round.config == request.config, round.ceremony == request.ceremony.bytes else {
                throw VaultError.integrity("the reveal request does not match round \(round.id)'s signed record (definition or key ceremony)")
            }
            try checkManifestRoot(request.manifestRoot, of: round)
            return (round, try approvals.map { try verifyApproval($0.bytes, file: $0.file, for: .tally(request), round: round, chairKey: actor.chairKey) })
        }
        let takingPart = try revealHolders(.tally(request), round: round, fromFiles: fromFiles, actor: actor, coHolders: coHolders, counted: true,
                                           to: "decrypt its cell totals for this reveal")
        var decrypted: (counted: TallyCounting.Counted, partials: [[TallyRecord.Partial]])?
        var outcomes = try reveal(items, actor: actor, holders: takingPart.approvers, roundKey: nil, tallyCells: { round in
            let used = try takingPart.approvals(round)
            let stored = try self.storedTallyBatches(round, manifest: round.state == .closed ? try self.manifest(of: round.id) : nil)
            var counted = try TallySelection.count(config: round.config, key: Tally.PublicKey(request.ceremony.jointKey), vault: self.id,
                                                   batches: stored.batches)
            let transcript = request.ceremony.transcript
            let partials = try counted.cells.map { cell in
                let ctx = cell.context(vault: self.id, round: round.id, manifestRoot: request.manifestRoot)
                return try used.map { a -> TallyRecord.Partial in
                    let index = try transcript.request.index(of: a.holder)
                    guard let p = a.partials.first(where: { $0.team == cell.team && $0.criterion == cell.criterion }),
                          p.decryption.verify(x: cell.x, publicShare: transcript.publicShare(index), context: ctx) else {
                        throw VaultError.integrity("\(a.holder)'s partial decryption of cell \(cell.team)/\(cell.criterion) is missing or does not hold its proof")
                    }
                    return TallyRecord.Partial(holder: a.holder.rawValue, index: index, decryption: p.decryption)
                }
            }
            counted.cells = try TallyCounting.decrypt(counted.cells, partials: partials, config: round.config)
            decrypted = (counted, partials)
            return try TallyCounting.table(config: round.config, counted: counted)
        }, requestDetails: ["request_sha256": .string(Hex.encode(request.digest))], progress: progress)
        // A published tally reveal is its public record, with the chair's signed result inside.
        for (i, item) in items.enumerated() where item.publish {
            guard let d = decrypted, let statement = outcomes[i].statement,
                  let signed = try? JSONParser.parse(Array(statement.dropLast(statement.last == 0x0A ? 1 : 0)), integersOnly: true) else { continue }
            let asked = request.reveals[i].reveal
            let scores = request.batches.isEmpty ? [] : try TallyRecordScores.counted(request)
            let record = TallyRecord(vault: id, config: round.config, manifestRoot: request.manifestRoot,
                                     ceremony: request.ceremony.transcript.commits.map {
                                         TallyRecord.CeremonyEntry(holder: $0.holder.rawValue, index: $0.index, coefficients: $0.coefficients, proofs: $0.proofs)
                                     },
                                     jointKey: request.ceremony.jointKey, scores: scores, cells: d.counted.cells, partials: d.partials,
                                     request: asked, result: outcomes[i].result)
            guard case .object(var o) = record.json else { continue }
            o["statement"] = signed
            outcomes[i] = RevealOutcome(output: outcomes[i].output, result: outcomes[i].result, statement: CanonicalJSON.encode(.object(o)) + [0x0A])
        }
        return outcomes
    }
}

/// The counted scores of a tally request, as the record lists them (the same selection).
enum TallyRecordScores {
    static func counted(_ request: TallyRevealRequestFile) throws -> [TallyRecord.Score] {
        let config = request.config
        return try TallySelection.select(config: config, batches: request.batches).map { s in
            TallyRecord.Score(evaluator: s.evaluator, team: config.teams[s.team], criterion: config.criteria[s.criterion].id,
                              ciphertext: try Tally.EncryptedScore(decoding: s.bytes, bitCount: TallyCounting.grid(config.criteria[s.criterion]).bitCount))
        }
    }
}
