import Dispatch
import Foundation
import VaultCrypto

/// One score to seal, as the evaluator wrote it.
public struct ScoreInput: Sendable {
    public let team: String
    public let criterion: String
    public let score: Fixed
    public let comment: String?

    public init(team: String, criterion: String, score: Fixed, comment: String?) {
        self.team = team; self.criterion = criterion; self.score = score; self.comment = comment
    }
}

/// The scores of one `seal` command, column by column: names interned once, numbers in flat
/// arrays. A million CSV rows take about 20 bytes each and no allocation per row (design: Performance).
/// The scores and comments are secret: they are wiped when the sheet goes away.
public final class ScoreSheet {
    /// Distinct team and criterion names, in order of first appearance.
    public private(set) var teamNames: [String] = []
    public private(set) var criterionNames: [String] = []
    var team: [UInt32] = []
    var criterion: [UInt32] = []
    var micros: [Int64] = []
    /// The CSV line of each row, or 0 when the scores did not come from a file.
    var line: [UInt32] = []
    /// Comments by row (most rows have none).
    var comments: [Int: [UInt8]] = [:]

    public var count: Int { micros.count }

    init() {}

    deinit {
        for i in micros.indices { micros[i] = 0 }
        for k in comments.keys { secureWipe(&comments[k]!) }
    }

    /// Scores given one by one (the `--team --criterion --score` form, the demo, tests).
    public convenience init(_ inputs: [ScoreInput]) {
        self.init()
        var teams: [String: UInt32] = [:], criteria: [String: UInt32] = [:]
        for s in inputs {
            let t = teams[s.team] ?? { teamNames.append(s.team); teams[s.team] = UInt32(teamNames.count - 1); return UInt32(teamNames.count - 1) }()
            let c = criteria[s.criterion] ?? {
                criterionNames.append(s.criterion); criteria[s.criterion] = UInt32(criterionNames.count - 1); return UInt32(criterionNames.count - 1)
            }()
            if let comment = s.comment, !comment.isEmpty { comments[micros.count] = Array(comment.utf8) }
            team.append(t); criterion.append(c); micros.append(s.score.micros); line.append(0)
        }
    }

    /// Reads a CSV file (see `fromCSV(_:file:)`); the file's bytes are wiped once parsed.
    public static func fromCSV(file path: String) throws -> ScoreSheet {
        var bytes = try Files.read(path, what: "CSV file")
        defer { secureWipe(&bytes) }
        return try fromCSV(bytes, file: path)
    }

    /// Reads `team,criterion,score[,comment]` CSV (RFC 4180) with that header, in one pass.
    public static func fromCSV(_ bytes: [UInt8], file: String) throws -> ScoreSheet {
        let sheet = ScoreSheet()
        var teams = NameTable(), criteria = NameTable()
        var columns = 0
        var problems: [String] = []
        struct Stop: Error {}
        do {
            try bytes.withUnsafeBytes { input in
                try CSVReader.scan(input, file: file) { line, fields in
                    if columns == 0 {
                        let names = (0..<fields.count).map { fields.string($0).trimmingCharacters(in: .whitespaces).lowercased() }
                        guard names == ["team", "criterion", "score"] || names == ["team", "criterion", "score", "comment"] else {
                            throw VaultError.invalidData("\(file):\(line): the header must be team,criterion,score or team,criterion,score,comment")
                        }
                        columns = names.count
                        return
                    }
                    guard fields.count == columns else {
                        problems.append("\(file):\(line): expected \(columns) fields, found \(fields.count)")
                        if problems.count >= 20 { throw Stop() }
                        return
                    }
                    guard let score = fields.withField(2, { Fixed(ascii: trimmed($0)) }) else {
                        problems.append("\(file):\(line): \"\(fields.string(2).prefix(20))\" is not a number")
                        if problems.count >= 20 { throw Stop() }
                        return
                    }
                    sheet.team.append(UInt32(fields.withField(0) { teams.intern($0) }))
                    sheet.criterion.append(UInt32(fields.withField(1) { criteria.intern($0) }))
                    if columns == 4 && !fields.isEmpty(3) { sheet.comments[sheet.micros.count] = fields.withField(3) { Array($0) } }
                    sheet.micros.append(score.micros)
                    sheet.line.append(UInt32(clamping: line))
                }
            }
        } catch is Stop {}
        guard columns > 0 else { throw VaultError.invalidData("\(file) is empty (expected the header team,criterion,score[,comment])") }
        if !problems.isEmpty { throw VaultError.invalidData(problems.joined(separator: "\n") + "\nnothing was sealed") }
        guard sheet.count > 0 else { throw VaultError.invalidData("\(file) holds no scores") }
        sheet.teamNames = teams.names.map { String(decoding: $0, as: UTF8.self) }
        sheet.criterionNames = criteria.names.map { String(decoding: $0, as: UTF8.self) }
        return sheet
    }

    /// Leading and trailing spaces and tabs dropped.
    private static func trimmed(_ b: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var lo = 0, hi = b.count
        while lo < hi && (b[lo] == 0x20 || b[lo] == 0x09) { lo += 1 }
        while hi > lo && (b[hi - 1] == 0x20 || b[hi - 1] == 0x09) { hi -= 1 }
        return UnsafeRawBufferPointer(rebasing: b[lo..<hi])
    }
}

/// What `seal` reports: the batch, and the receipt the evaluator keeps (also saved in its
/// client state folder).
public struct SealReceipt: Sendable {
    public let batchID: String
    public let count: Int
    public let round: String
    public let receipt: Receipt
    /// Where the receipt was saved in the client state folder.
    public let receiptPath: String
}

extension Vault {
    /// Tests only: runs between a seal's checks and its write transaction, to race a close there.
    nonisolated(unsafe) static var beforeSealTransaction: (() -> Void)?

    /// `seal` for scores given one by one.
    public func seal(_ inputs: [ScoreInput], round roundID: String, actor: Actor, file: String? = nil,
                     progress: ((Int, Int) -> Void)? = nil) throws -> SealReceipt {
        try seal(ScoreSheet(inputs), round: roundID, actor: actor, file: file, progress: progress)
    }

    /// `seal`: checks every score against its criterion's grid and the round's teams, asks the
    /// policy for each distinct place it reads, then seals the batch to the round key with one
    /// HPKE encapsulation and stores it — all rows, or none — with its audit entry.
    ///
    /// The evaluator needs only its own key: the round key is public, and it is accepted only if
    /// the chair the evaluator pinned signed it.
    ///
    /// Large batches run as a two-stage pipeline over chunks: one thread encrypts and digests
    /// chunk k+1 while another inserts chunk k, all inside one transaction. Nothing is committed
    /// until the evaluator's signature over the whole batch and the audit entry are in.
    public func seal(_ sheet: ScoreSheet, round roundID: String, actor: Actor, file: String? = nil,
                     progress: ((Int, Int) -> Void)? = nil) throws -> SealReceipt {
        let target = "round/\(roundID)"
        let round = try recordingFailure(actor: actor.id.rawValue, action: "seal", target: target) {
            try self.round(roundID, verifiedWith: actor.chairKey)
        }
        let count = sheet.count
        guard count > 0 else { throw VaultError.invalidData("there are no scores to seal") }
        // Only the panel approved when the round opened may seal into it.
        guard round.state != .open || round.panel.contains(actor.id) else {
            try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "seal", target: target, outcome: .denied,
                                          details: ["reason": .string("not on the panel")]), signer: actor.keys.signing)
            throw VaultError.permission("\(actor.id) is not on the panel of round \(roundID) (fixed and approved when it opened)")
        }
        // Validate everything before anything is sealed. Names are looked up once per distinct
        // name of the sheet, so one score into a round of 10,000 teams stays cheap.
        let teamOf = Self.indexes(of: sheet.teamNames, in: round.config.teams)
        let criterionOf = Self.indexes(of: sheet.criterionNames, in: round.config.criteria.map(\.id))
        let criteria = round.config.criteria
        var problems: [String] = []
        var units = [Int64](repeating: 0, count: count)
        defer { for i in units.indices { units[i] = 0 } }
        var seen = PairSet(rows: round.config.teams.count, columns: criteria.count)
        for i in 0..<count {
            let at = sheet.line[i] > 0 ? "\(file ?? "input"):\(sheet.line[i]): " : ""
            let name = sheet.teamNames[Int(sheet.team[i])], cname = sheet.criterionNames[Int(sheet.criterion[i])]
            let t = teamOf[Int(sheet.team[i])], c = criterionOf[Int(sheet.criterion[i])]
            if t >= 0 && c >= 0 && !seen.insert(t, c) {
                let first = (0..<i).first { sheet.team[$0] == sheet.team[i] && sheet.criterion[$0] == sheet.criterion[i] }!
                problems.append("\(at)team \(name.prefix(64)), criterion \(cname.prefix(64)) is scored twice in this batch (first \(sheet.line[first] > 0 ? "at line \(sheet.line[first])" : "earlier"))")
            } else if t < 0 {
                problems.append("\(at)team \"\(name.prefix(64))\" is not in round \(roundID) (teams: \(round.config.teams.joined(separator: ", ")))")
            } else if c < 0 {
                problems.append("\(at)criterion \"\(cname.prefix(64))\" is not in round \(roundID) (criteria: \(criteria.map(\.id).joined(separator: ", ")))")
            } else if let comment = sheet.comments[i], comment.count > SealFormat.maxCommentBytes {
                problems.append("\(at)the comment is longer than \(SealFormat.maxCommentBytes) bytes")
            } else {
                let k = criteria[c], m = sheet.micros[i]
                if m >= k.min.micros && m <= k.max.micros && (m - k.min.micros) % k.step.micros == 0 {
                    units[i] = (m - k.min.micros) / k.step.micros
                } else {
                    do { _ = try k.units(of: Fixed(micros: m)) } catch let e as VaultError { problems.append(at + e.message) }
                }
            }
            if problems.count >= 20 { break }
        }
        if !problems.isEmpty {
            try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "seal", target: target, outcome: .failed,
                                          details: ["reason": .string("invalid scores"), "problems": .integer(Int64(problems.count))]),
                              signer: actor.keys.signing)
            throw VaultError.invalidData(problems.joined(separator: "\n") + (count > 1 ? "\nnothing was sealed" : ""))
        }

        // The policy decides each distinct place it can tell apart; one denial refuses the batch.
        let decision = try authorizeSeal(sheet, round: round, teamOf: teamOf, criterionOf: criterionOf, actor: actor, target: target)
        // A declared conflict is a hard rule, even under a policy that would allow it (design: Roles).
        let conflicted = Set(actor.principal.conflicts)
        if let i = sheet.teamNames.firstIndex(where: { conflicted.contains($0) }) {
            try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "seal", target: target, outcome: .denied,
                                          details: ["reason": .string("conflict")]), signer: actor.keys.signing)
            throw VaultError.permission("\(actor.id) has declared a conflict with team \(sheet.teamNames[i]); nothing was sealed")
        }

        guard let roundKey = round.publicKey else { throw VaultError.integrity("round \(roundID) is open but has no public key") }

        // Seal: one encapsulation, one AEAD message per score, then the signed trailer.
        let batchID = SecureRandom.bytes(count: 16)
        var sender = try HPKE.Sender(recipientKey: roundKey, info: SealFormat.info(vaultID: id, roundID: roundID, roundKey: roundKey))
        let range = try sender.reserve(count)
        // Microseconds: re-seals by one evaluator are separate commands (each with a KDF), so
        // their signed times differ and the later one supersedes.
        let time = Int64(Date().timeIntervalSince1970 * 1_000_000)
        // Encoded names, made only for the places this batch uses.
        var teamFields = [[UInt8]](repeating: [], count: round.config.teams.count)
        var criterionFields = [[UInt8]](repeating: [], count: criteria.count)
        for t in teamOf { teamFields[t] = CanonicalEncoder.field(round.config.teams[t]) }
        for c in criterionOf { criterionFields[c] = CanonicalEncoder.field(criteria[c].id) }
        let teamText = teamFields.map { Array($0.dropFirst(4)) }, criterionText = criterionFields.map { Array($0.dropFirst(4)) }
        let digest = SealFormat.BatchDigest(vaultID: id, roundID: roundID, batchID: batchID, enc: sender.encapsulatedKey,
                                            evaluator: actor.id.rawValue, time: time, count: count)
        var aad = SealFormat.ScoreAAD(vaultID: id, roundID: roundID, batchID: batchID)
        let sealer = try range.makeSealer()
        var plaintext = [UInt8](repeating: 0, count: SealFormat.scorePadding)
        defer { secureWipe(&plaintext) }

        // Hot loops read plain local arrays (no class property access, so no dynamic exclusivity
        // checks or reference counting per row).
        let rowTeam = sheet.team, rowCriterion = sheet.criterion, comments = sheet.comments
        let noComment: [UInt8] = []

        /// Encrypts rows `rows` into `chunk` and feeds the digest, in order.
        func encrypt(_ rows: Range<Int>, into chunk: SealChunk) throws {
            chunk.reset(rows)
            try units.withUnsafeBufferPointer { units in
                for i in rows {
                    let t = teamOf[Int(rowTeam[i])], c = criterionOf[Int(rowCriterion[i])]
                    let comment = comments.isEmpty ? noComment : comments[i] ?? noComment
                    let size = SealFormat.scorePlaintextCount(commentCount: comment.count)
                    if plaintext.count != size { secureWipe(&plaintext); plaintext = [UInt8](repeating: 0, count: size) }
                    SealFormat.writeScorePlaintext(units: units[i], comment: comment, into: &plaintext)
                    let ct = chunk.append(count: size + AES.GCM.tagByteCount)
                    try plaintext.withUnsafeBytes { p in
                        try aad.with(seq: i, team: teamFields[t], criterion: criterionFields[c]) { a in
                            try sealer.seal(index: i, p, authenticating: a, into: ct)
                        }
                    }
                    digest.add(team: teamFields[t], criterion: criterionFields[c], ciphertext: UnsafeRawBufferPointer(ct))
                }
            }
        }

        Self.beforeSealTransaction?()
        let receipt: SealReceipt = try write {
            // Close is final: the round's state is read again inside this write transaction, so
            // a seal racing `round close` either commits before the close or not at all.
            let now = try self.round(roundID, verifiedWith: actor.chairKey)
            guard now.state == .open, now.publicKey == round.publicKey else {
                throw VaultError.usage("round \(roundID) is \(now.state.rawValue); nothing can be sealed into it any more")
            }
            // The batch row goes first (the seals reference it); its trailer is set last.
            try insertBatchRow(id: batchID, round: roundID, enc: sender.encapsulatedKey, count: count)
            let insert = try scoreInserter(batch: batchID)
            /// Inserts the rows of `chunk`; runs on whichever thread the pipeline gives it, alone on the connection.
            func store(_ chunk: SealChunk) throws {
                for (n, i) in chunk.rows.enumerated() {
                    try teamText[teamOf[Int(rowTeam[i])]].withUnsafeBytes { team in
                        try criterionText[criterionOf[Int(rowCriterion[i])]].withUnsafeBytes { criterion in
                            try insert.add(seq: i, team: team, criterion: criterion, ciphertext: chunk.ciphertext(n))
                        }
                    }
                }
            }
            let chunkSize = 32_768
            let chunks = stride(from: 0, to: count, by: chunkSize).map { $0..<Swift.min($0 + chunkSize, count) }
            var pending: SealChunk? = nil
            var spare = SealChunk(), current = SealChunk()
            for rows in chunks {
                if let ready = pending {
                    // Insert the previous chunk on one core while the next one is encrypted on the
                    // other: the store stage touches only the connection and `ready`; the encrypt
                    // stage only the sealer, the digest, the AAD and plaintext buffers and `current`.
                    let next = current
                    try Parallel.both({ try store(ready) }, { try encrypt(rows, into: next) })
                    progress?(ready.rows.upperBound, count)
                } else {
                    try encrypt(rows, into: current)
                }
                pending = current
                swap(&spare, &current)
            }
            if let last = pending { try store(last); progress?(count, count) }
            insert.finish()

            let signedDigest = digest.finalize()
            let trailer = try sender.seal(SealFormat.trailerPlaintext(.init(evaluator: actor.id.rawValue, time: time,
                                                                            signature: try actor.keys.signing.signature(for: signedDigest))),
                                          authenticating: SealFormat.trailerAAD(vaultID: id, roundID: roundID, batchID: batchID, count: count))
            try setBatchTrailer(trailer, of: batchID)
            // The entry names the batch and the digest its evaluator signed, so a seal is
            // accounted one to one: no batch without its entry, no entry without its batch.
            let record = Self.batchRecord(id: batchID, round: roundID, enc: sender.encapsulatedKey, count: count, trailer: trailer,
                                          signedDigest: signedDigest, evaluator: actor.id)
            let seq = try appendAudit(AuditRecord(actor: actor, action: "seal", target: target, decision: decision,
                                                  details: ["scores": .integer(Int64(count)), "batch": .string(record.id)]),
                                      signer: actor.keys.signing, objects: [record])
            let kept = Receipt(vault: id, round: roundID, batch: record.id, digest: Hex.encode(signedDigest), evaluator: actor.id.rawValue,
                               scores: count, seq: seq, leafHash: Hex.encode(leaves[seq]))
            return SealReceipt(batchID: record.id, count: count, round: roundID, receipt: kept, receiptPath: "")
        }
        let path = try client.saveReceipt(receipt.receipt)
        return SealReceipt(batchID: receipt.batchID, count: receipt.count, round: receipt.round, receipt: receipt.receipt, receiptPath: path)
    }

    /// The index of each name in `all`, or −1.
    private static func indexes(of names: [String], in all: [String]) -> [Int] {
        if names.count <= 8 { return names.map { all.firstIndex(of: $0) ?? -1 } }
        let index = Dictionary(all.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        return names.map { index[$0] ?? -1 }
    }

    /// Asks the policy about each distinct place of the batch — distinct only in the resource
    /// attributes the policy reads (the default policy reads the team, for conflicts, never
    /// the criterion), so a million scores over 10,000 teams are 10,000 questions, not a million.
    /// Each question names a real place of the batch.
    private func authorizeSeal(_ sheet: ScoreSheet, round: Round, teamOf: [Int], criterionOf: [Int], actor: Actor,
                               target: String) throws -> PolicyDecision {
        let policy = try self.policy(for: round, chairKey: actor.chairKey).set
        let reads = policy.readsResourceAttributes
        let byTeam = reads?.contains("team") ?? true, byCriterion = reads?.contains("criterion") ?? true
        var asked = Set<Int>()
        var requests: [PolicyRequest] = []
        let principal = Self.attributes(of: actor.principal)
        let criteria = round.config.criteria.count
        for i in 0..<sheet.count {
            let t = teamOf[Int(sheet.team[i])], c = criterionOf[Int(sheet.criterion[i])]
            guard asked.insert((byTeam ? t : 0) * criteria + (byCriterion ? c : 0)).inserted else { continue }
            requests.append(PolicyRequest(principal: principal, action: "seal",
                                          resource: ["round": round.policyAttributes, "team": .string(round.config.teams[t]),
                                                     "criterion": .string(round.config.criteria[c].id)]))
        }
        return try authorize(requests, actor: actor, target: target, details: ["scores": .integer(Int64(sheet.count))], policy: policy)
    }
}

/// A set of (row, column) pairs of small indexes, a bit each: the (team, criterion) places a
/// batch has used, the (team, evaluator) pairs behind an aggregate.
struct PairSet {
    private var bits: [UInt64]
    private let columns: Int

    init(rows: Int, columns: Int) {
        self.columns = columns
        bits = [UInt64](repeating: 0, count: (rows * columns + 63) / 64)
    }

    /// False when the pair was already there.
    mutating func insert(_ row: Int, _ column: Int) -> Bool {
        let p = row * columns + column
        let mask: UInt64 = 1 << UInt64(p & 63)
        if bits[p >> 6] & mask != 0 { return false }
        bits[p >> 6] |= mask
        return true
    }
}

/// The ciphertexts of a run of rows, back to back, between the encrypting and storing stages.
/// Plain memory rather than an array, so the room handed to the cipher stays put.
final class SealChunk: @unchecked Sendable {
    // @unchecked: the pipeline hands a chunk to exactly one stage at a time.
    private(set) var rows: Range<Int> = 0..<0
    private var storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    private var used = 0
    private var ends: [Int] = []

    deinit { storage.deallocate() }

    func reset(_ rows: Range<Int>) {
        self.rows = rows
        used = 0
        ends.removeAll(keepingCapacity: true)
    }

    /// Room for the next ciphertext, valid until the next `append` or `reset`.
    func append(count: Int) -> UnsafeMutableRawBufferPointer {
        if used + count > storage.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(storage.count * 2, used + count), alignment: 16)
            bigger.copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[0..<used]))
            storage.deallocate()
            storage = bigger
        }
        let room = UnsafeMutableRawBufferPointer(rebasing: storage[used..<(used + count)])
        used += count
        ends.append(used)
        return room
    }

    func ciphertext(_ n: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[(n == 0 ? 0 : ends[n - 1])..<ends[n]])
    }
}
