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

/// The scores of one `seal` command: given one by one, or a CSV file read as a stream (a
/// 10,000,000-row file is never held in memory: design: Performance). Rows are handed out with
/// their names as bytes and their line, so errors can name them.
public final class ScoreSheet {
    enum Source {
        case inputs([ScoreInput])
        case file(String)
        case bytes([UInt8], String)
    }
    let source: Source

    init(source: Source) { self.source = source }

    deinit {
        if case .bytes(var b, _) = source { secureWipe(&b) }
    }

    /// Scores given one by one (the `--team --criterion --score` form, the demo, tests).
    public convenience init(_ inputs: [ScoreInput]) { self.init(source: .inputs(inputs)) }

    /// A CSV file, read as it is sealed: a path, a pipe (`/dev/fd/N`), or `-` for standard input.
    public static func fromCSV(file path: String) throws -> ScoreSheet {
        guard path == Files.standardInput || Files.exists(path) else { throw VaultError.notFound("\(path) does not exist") }
        return ScoreSheet(source: .file(path))
    }

    /// CSV bytes, checked for form at once (header, fields, numbers).
    public static func fromCSV(_ bytes: [UInt8], file: String) throws -> ScoreSheet {
        var problems: [String] = []
        try bytes.withUnsafeBytes { b in
            var reader = ScoreCSV(file: file)
            try reader.scan(b, firstLine: 1) { r in
                if r.micros == nil { problems.append("\(file):\(r.line): \"\(r.scoreText.prefix(20))\" is not a number") }
            } problem: { problems.append($0) }
            try reader.end()
        }
        if !problems.isEmpty { throw VaultError.invalidData(problems.prefix(20).joined(separator: "\n") + "\nnothing was sealed") }
        return ScoreSheet(source: .bytes(bytes, file))
    }

    var fileName: String? {
        switch source {
        case .inputs: nil
        case .file(let f), .bytes(_, let f): Files.displayName(f)
        }
    }

    /// Calls `row` for each score and `problem` for each row that is malformed as CSV.
    func forEach(progress: ((Int, Int) -> Void)?, _ row: (ScoreRow) throws -> Void, problem: (String) throws -> Void) throws {
        switch source {
        case .inputs(let inputs):
            for (i, s) in inputs.enumerated() {
                if i > 0 && i % 32_768 == 0 { progress?(i, inputs.count) }
                var t = Array(s.team.utf8), c = Array(s.criterion.utf8), m = Array((s.comment ?? "").utf8)
                defer { secureWipe(&m) }
                try t.withUnsafeBytes { t in
                    try c.withUnsafeBytes { c in
                        try m.withUnsafeBytes { m in try row(ScoreRow(team: t, criterion: c, micros: s.score.micros, comment: m.isEmpty ? nil : m, line: 0)) }
                    }
                }
                t.removeAll(); c.removeAll()
            }
            progress?(inputs.count, inputs.count)
        case .bytes(let bytes, let file):
            var reader = ScoreCSV(file: file)
            try bytes.withUnsafeBytes { try reader.scan($0, firstLine: 1, row, problem: problem) }
            try reader.end()
        case .file(let path):
            try CSVStream.read(path) { block, firstLine, reader in
                try reader.scan(block, firstLine: firstLine, row, problem: problem)
            } progress: { progress?($0, $1) }
        }
    }
}

/// One score as read, valid only during the call that hands it out.
struct ScoreRow {
    let team: UnsafeRawBufferPointer
    let criterion: UnsafeRawBufferPointer
    /// Nil when the score is not a number.
    let micros: Int64?
    let comment: UnsafeRawBufferPointer?
    /// The CSV line, or 0.
    let line: Int
    var scoreText: String = ""
}

/// The `team,criterion,score[,comment]` reading of CSV records: the header first, then rows.
///
/// What spreadsheet programs write is met where it is harmless: a UTF-8 byte order mark (their
/// "CSV UTF-8") is skipped. What would be misread is named instead of guessed at: a UTF-16
/// file ("Unicode text"), or a first line with no comma but semicolons or tabs (a spreadsheet
/// set to a language whose decimal separator is the comma writes `;`-separated files, with
/// decimal commas in the scores).
struct ScoreCSV {
    let file: String
    var columns = 0
    var rows = 0
    /// Set once the start of the file (its byte order mark, its first line) has been looked at.
    var started = false

    init(file: String) { self.file = Files.displayName(file) }

    static let utf8BOM: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// The start of the file: returns how many bytes to skip (a UTF-8 byte order mark), or
    /// throws naming a file that is not comma-separated UTF-8.
    func checkStart(_ input: UnsafeRawBufferPointer) throws -> Int {
        if input.count >= 2 && ((input[0] == 0xFF && input[1] == 0xFE) || (input[0] == 0xFE && input[1] == 0xFF)) {
            throw VaultError.invalidData("\(file) is UTF-16 text; save it as \"CSV UTF-8 (comma delimited)\" (header team,criterion,score[,comment])")
        }
        let skip = input.starts(with: Self.utf8BOM) ? 3 : 0
        // The first line that holds anything: a header always has commas.
        var start = skip
        while start < input.count && (input[start] == 0x0A || input[start] == 0x0D) { start += 1 }
        var end = start
        while end < input.count && input[end] != 0x0A { end += 1 }
        let first = UnsafeRawBufferPointer(rebasing: input[start..<end])
        if !first.contains(0x2C) {
            let line = input[skip..<start].reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
            for (byte, name) in [(UInt8(0x3B), "semicolon"), (UInt8(0x09), "tab")] where first.contains(byte) {
                throw VaultError.invalidData("\(file):\(line): this looks like a \(name)-separated file; evalvault reads comma-separated CSV (header team,criterion,score[,comment]): save it as \"CSV UTF-8 (comma delimited)\", with a decimal point in scores")
            }
        }
        return skip
    }

    mutating func scan(_ input: UnsafeRawBufferPointer, firstLine: Int, _ row: (ScoreRow) throws -> Void, problem: (String) throws -> Void) throws {
        var input = input
        if !started {
            started = true
            input = UnsafeRawBufferPointer(rebasing: input[try checkStart(input)...])
        }
        let file = self.file
        var columns = self.columns, rows = self.rows
        defer { self.columns = columns; self.rows = rows }
        try CSVReader.scan(input, file: file, firstLine: firstLine) { line, fields in
            if columns == 0 {
                let names = (0..<fields.count).map { fields.string($0).trimmingCharacters(in: .whitespaces).lowercased() }
                guard names == ["team", "criterion", "score"] || names == ["team", "criterion", "score", "comment"] else {
                    throw VaultError.invalidData("\(file):\(line): the header must be team,criterion,score or team,criterion,score,comment")
                }
                columns = names.count
                return
            }
            guard fields.count == columns else {
                try problem("\(file):\(line): expected \(columns) fields, found \(fields.count)")
                return
            }
            let micros = fields.withField(2) { Fixed(ascii: ScoreCSV.trimmed($0))?.micros }
            rows += 1
            try fields.withField(0) { team in
                try fields.withField(1) { criterion in
                    if columns == 4 && !fields.isEmpty(3) {
                        try fields.withField(3) { comment in
                            try row(ScoreRow(team: team, criterion: criterion, micros: micros, comment: comment, line: line, scoreText: micros == nil ? fields.string(2) : ""))
                        }
                    } else {
                        try row(ScoreRow(team: team, criterion: criterion, micros: micros, comment: nil, line: line, scoreText: micros == nil ? fields.string(2) : ""))
                    }
                }
            }
        }
    }

    func end() throws {
        guard columns > 0 else { throw VaultError.invalidData("\(file) is empty (expected the header team,criterion,score[,comment])") }
        guard rows > 0 else { throw VaultError.invalidData("\(file) holds no scores") }
    }

    /// Leading and trailing spaces and tabs dropped.
    static func trimmed(_ b: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var lo = 0, hi = b.count
        while lo < hi && (b[lo] == 0x20 || b[lo] == 0x09) { lo += 1 }
        while hi > lo && (b[hi - 1] == 0x20 || b[hi - 1] == 0x09) { hi -= 1 }
        return UnsafeRawBufferPointer(rebasing: b[lo..<hi])
    }
}

/// Reads a CSV file in blocks of a few MiB, each cut after a record (a newline outside quotes),
/// so a file of any size is parsed in constant memory. The block buffer is wiped after use.
enum CSVStream {
    static let blockSize = 4 << 20

    static func read(_ path: String, _ body: (UnsafeRawBufferPointer, Int, inout ScoreCSV) throws -> Void,
                     progress: (Int, Int) -> Void) throws {
        // A path, a pipe or `/dev/fd/N`, or `-` (standard input): all read the same way, a block at a time.
        let fd = try Files.openForReading(path, what: "CSV file")
        defer { close(fd) }
        let name = Files.displayName(path)
        var st = stat()
        let total = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? Int(st.st_size) : 0
        var reader = ScoreCSV(file: path)
        var buffer = [UInt8](repeating: 0, count: blockSize * 2)
        defer { secureWipe(&buffer) }
        var have = 0, line = 1, done = 0
        var eof = false
        while !eof || have > 0 {
            if !eof && have < buffer.count {
                let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress! + have, $0.count - have) }
                if n < 0 { if errno == EINTR { continue }; throw VaultError.invalidData("cannot read \(name): \(String(cString: strerror(errno)))") }
                if n == 0 { eof = true } else { have += n; if have < blockSize && !eof { continue } }
            }
            // The cut: after the last newline with an even number of quotes before it.
            var cut = have
            if !eof {
                var quotes = 0, last = -1
                buffer.withUnsafeBytes { b in
                    for i in 0..<have {
                        if b[i] == 0x22 { quotes += 1 } else if b[i] == 0x0A && quotes & 1 == 0 { last = i }
                    }
                }
                guard last >= 0 else {
                    if have == buffer.count { throw VaultError.invalidData("\(name):\(line): a record longer than \(blockSize >> 20) MiB") }
                    continue
                }
                cut = last + 1
            }
            try buffer.withUnsafeBytes { b in
                let block = UnsafeRawBufferPointer(rebasing: b[0..<cut])
                try body(block, line, &reader)
                line += block.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            }
            done += cut
            progress(done, total)
            buffer.withUnsafeMutableBytes { b in
                if cut < have { b.baseAddress!.copyMemory(from: b.baseAddress! + cut, byteCount: have - cut) }
            }
            have -= cut
            if eof && have == 0 { break }
        }
        try reader.end()
    }
}

/// What sealing needs to know of a round — from the vault, or from a round descriptor — and
/// the policy that governs it.
struct SealTarget {
    let vaultID: String
    let round: Round
    let policy: PolicySet
}

/// Checks scores against the round as they stream in and writes them into a `BatchWriter`:
/// team and criterion in the round, score on its criterion's grid, no place twice, no team the
/// evaluator declared a conflict with. At the end it names the policy questions to ask (one per
/// distinct place the policy can tell apart), before anything is signed.
final class BatchSealer {
    let target: SealTarget
    let evaluator: Principal
    /// A sealed round's batch writer; nil in a tally round, whose scores go to `tallyScores`.
    let sealedWriter: BatchWriter?
    /// A tally round's checked scores: place indices and grid index, encrypted at the end
    /// (`TallyBatch.make`), each with its proof.
    private(set) var tallyScores: [(team: Int, criterion: Int, index: Int)] = []
    var writer: BatchWriter { sealedWriter! }
    private let teams: NameTable, criteria: NameTable
    private var seen: PairSet
    private var firstLine: [UInt32]
    private var teamsUsed: PairSet
    private var placesUsed: PairSet
    private let conflicted: Set<Int>
    private(set) var problems: [String] = []
    private var conflict: String?
    private var rows = 0

    init(target: SealTarget, evaluator: Principal, batchID: [UInt8], time: Int64, sink: @escaping (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        self.target = target
        self.evaluator = evaluator
        if target.round.config.mode == .tally {
            sealedWriter = nil
        } else {
            guard let key = target.round.publicKey else { throw VaultError.integrity("round \(target.round.id) is open but has no public key") }
            sealedWriter = try BatchWriter(vault: target.vaultID, round: target.round.id, roundKey: key, batchID: batchID, evaluator: evaluator.id.rawValue,
                                           time: time, sink: sink)
        }
        let config = target.round.config
        teams = NameTable(config.teams)
        criteria = NameTable(config.criteria.map(\.id))
        let places = config.teams.count * config.criteria.count
        seen = PairSet(rows: config.teams.count, columns: config.criteria.count)
        firstLine = places <= 1 << 22 ? [UInt32](repeating: 0, count: places) : []
        teamsUsed = PairSet(rows: config.teams.count, columns: 1)
        placesUsed = PairSet(rows: config.teams.count, columns: config.criteria.count)
        conflicted = Set(config.teams.indices.filter { evaluator.conflicts.contains(config.teams[$0]) })
    }

    /// Reads every row of `sheet`; throws the problems found (up to 20), or the conflict.
    func run(_ sheet: ScoreSheet, progress: ((Int, Int) -> Void)?) throws {
        let config = target.round.config
        let grid = config.criteria
        let C = grid.count
        // The hot loop works on locals (written back at the end): a class's stored properties
        // would cost a dynamic exclusivity check on every access, ten million times.
        let lo = grid.map(\.min.micros), hi = grid.map(\.max.micros), step = grid.map(\.step.micros)
        let conflictedTeam = config.teams.indices.map { conflicted.contains($0) }
        var seen = self.seen, firstLine = self.firstLine, teamsUsed = self.teamsUsed, placesUsed = self.placesUsed
        var problems: [String] = [], conflict: String? = nil, rows = 0, clean = true
        let writer = self.sealedWriter, teams = self.teams, criteria = self.criteria
        var tallyScores = self.tallyScores
        defer {
            self.seen = seen; self.firstLine = firstLine; self.teamsUsed = teamsUsed; self.placesUsed = placesUsed
            self.problems = problems; self.conflict = conflict; self.rows = rows; self.tallyScores = tallyScores
        }
        struct Stop: Error {}
        do {
            try sheet.forEach(progress: progress) { r in
                rows += 1
                var at: String { r.line > 0 ? "\(sheet.fileName ?? "input"):\(r.line): " : "" }  // built only for a problem
                func name(_ b: UnsafeRawBufferPointer) -> String { String(decoding: b.prefix(64), as: UTF8.self) }
                let t = teams.index(of: r.team) ?? -1, c = criteria.index(of: r.criterion) ?? -1
                if t < 0 {
                    problems.append("\(at)team \"\(name(r.team))\" is not in round \(config.id) (teams: \(Self.list(config.teams)))")
                } else if c < 0 {
                    problems.append("\(at)criterion \"\(name(r.criterion))\" is not in round \(config.id) (criteria: \(Self.list(grid.map(\.id))))")
                } else if !seen.insert(t, c) {
                    let first = firstLine.isEmpty ? 0 : Int(firstLine[t * C + c])
                    problems.append("\(at)team \(name(r.team)), criterion \(name(r.criterion)) is scored twice in this batch (first \(first > 0 ? "at line \(first)" : "earlier"))")
                } else if let comment = r.comment, comment.count > BatchFormat.maxCommentBytes {
                    problems.append("\(at)the comment is longer than \(BatchFormat.maxCommentBytes) bytes")
                } else if writer == nil && r.comment.map({ !$0.isEmpty }) == true {
                    // A tally round keeps only ciphertexts of grid indices: a comment could be read.
                    problems.append("\(at)round \(config.id) is a tally round, which keeps no comments: leave the comment out")
                } else if let m = r.micros {
                    if !firstLine.isEmpty { firstLine[t * C + c] = UInt32(clamping: r.line) }
                    if m >= lo[c] && m <= hi[c] && (m - lo[c]) % step[c] == 0 {
                        _ = teamsUsed.insert(t, 0)
                        _ = placesUsed.insert(t, c)
                        // A conflicted place is asked of the policy (which names its rule), and
                        // is never written; `checkConflict` refuses the batch if the policy did not.
                        if conflictedTeam[t] {
                            if conflict == nil { conflict = config.teams[t] }
                            clean = false
                        } else if clean {
                            if let writer { try writer.add(team: t, criterion: c, units: (m - lo[c]) / step[c], comment: r.comment) }
                            else { tallyScores.append((t, c, Int((m - lo[c]) / step[c]))) }
                        }
                    } else {
                        do { _ = try grid[c].units(of: Fixed(micros: m)) } catch let e as VaultError { problems.append(at + e.message) }
                    }
                } else {
                    problems.append("\(at)\"\(r.scoreText.prefix(20))\" is not a number")
                }
                if !problems.isEmpty {
                    clean = false
                    if problems.count >= 20 { throw Stop() }
                }
            } problem: { p in
                problems.append(p)
                clean = false
                if problems.count >= 20 { throw Stop() }
            }
        } catch is Stop {}
        if !problems.isEmpty {
            throw VaultError.invalidData(problems.joined(separator: "\n") + (rows > 1 ? "\nnothing was sealed" : ""))
        }
        guard (sealedWriter?.count ?? tallyScores.count) > 0 || conflict != nil else { throw VaultError.invalidData("there are no scores to seal") }
    }

    /// A declared conflict is a hard rule, even under a policy that would allow it (design: Roles).
    func checkConflict() throws {
        if let conflict {
            throw VaultError.permission("\(evaluator.id) has declared a conflict with team \(conflict); nothing was sealed")
        }
    }

    private static func list(_ names: [String]) -> String {
        names.count <= 20 ? names.joined(separator: ", ") : names.prefix(20).joined(separator: ", ") + ", … (\(names.count) in all)"
    }

    /// The policy's questions: one per distinct place it can tell apart (the default policy
    /// reads the team, for conflicts, never the criterion), each naming a real place of the batch.
    func policyRequests() -> [PolicyRequest] {
        let config = target.round.config
        let reads = target.policy.readsResourceAttributes
        let byCriterion = reads?.contains("criterion") ?? true
        let principal = Vault.attributes(of: evaluator)
        var out: [PolicyRequest] = []
        for t in config.teams.indices where teamsUsed.contains(t, 0) {
            for c in config.criteria.indices where placesUsed.contains(t, c) {
                out.append(PolicyRequest(principal: principal, action: "seal",
                                         resource: ["round": target.round.policyAttributes, "team": .string(config.teams[t]),
                                                    "criterion": .string(config.criteria[c].id)]))
                if !byCriterion { break }
            }
        }
        return out
    }
}

/// A sealed batch, as written: its id, round and evaluator (from its header), the header's
/// bytes, size, signature and signed digest — of a sealed round's batch or a tally round's.
struct SealedBatch {
    let batchID: [UInt8]
    let round: String
    let evaluator: String
    let headerBytes: [UInt8]
    let count: Int
    let chunks: Int
    let trailer: [UInt8]
    let digest: [UInt8]
    let signature: [UInt8]

    var name: String { Hex.encode(batchID) }
}

extension BatchSealer {
    func finish(signer: Curve25519.Signing.PrivateKey) throws -> SealedBatch {
        let f = try writer.finish(signer: signer)
        return SealedBatch(batchID: writer.header.batchID, round: writer.header.round, evaluator: writer.header.evaluator, headerBytes: writer.headerBytes, count: writer.count, chunks: f.chunks, trailer: f.trailer,
                           digest: f.digest, signature: f.signature)
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

    /// `seal` for scores given one by one.
    public func seal(_ inputs: [ScoreInput], round roundID: String, actor: Actor, file: String? = nil,
                     progress: ((Int, Int) -> Void)? = nil) throws -> SealReceipt {
        try seal(ScoreSheet(inputs), round: roundID, actor: actor, file: file, progress: progress)
    }

    /// `seal --dir`: on the vault's own machine, the same path as sealing to a file and importing
    /// it — the batch is written straight into vault.db's batch rows, then accepted exactly as
    /// `import` accepts a file, in one transaction with its signed entry.
    ///
    /// The evaluator needs only its own key: the round key is public, and it is accepted only if
    /// the chair the evaluator pinned signed it. Nothing is committed until every score is
    /// checked, the policy has allowed each place, and the evaluator has signed the batch.
    public func seal(_ sheet: ScoreSheet, round roundID: String, actor: Actor, file: String? = nil,
                     progress: ((Int, Int) -> Void)? = nil) throws -> SealReceipt {
        let target = "round/\(roundID)"
        let round = try recordingFailure(actor: actor.id.rawValue, action: "seal", target: target) {
            try self.round(roundID, verifiedWith: actor.chairKey)
        }
        // A tally round's batches are files, each score with its proof, checked at import.
        guard round.config.mode == .sealed else {
            throw VaultError.usage("round \(roundID) is a tally round: seal to a file with `evalvault seal --round-file \(roundID).round --key KEY --csv FILE --out B.batch` (the descriptor from `round publish`), and the chair imports it")
        }
        // Only the panel approved when the round opened may seal into it.
        guard round.state != .open || round.panel.contains(actor.id) else {
            try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "seal", target: target, outcome: .denied,
                                          details: ["reason": .string("not on the panel")]), signer: actor.keys.signing)
            throw VaultError.permission("\(actor.id) is not on the panel of round \(roundID) (fixed and approved when it opened)")
        }
        let policy = try self.policy(for: round, chairKey: actor.chairKey).set
        if round.state != .open, let team = round.config.teams.first(where: { !actor.principal.conflicts.contains($0) }) ?? round.config.teams.first,
           let criterion = round.config.criteria.first {
            // Refused before reading a single row: the policy says why (the round is not open),
            // asked of a team without a conflict so that the round's state is what it judges.
            _ = try authorize(PolicyRequest(principal: Self.attributes(of: actor.principal), action: "seal",
                                            resource: ["round": round.policyAttributes, "team": .string(team), "criterion": .string(criterion.id)]),
                              actor: actor, target: target, policy: policy)
        }
        let time = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let batchID = SecureRandom.bytes(count: 16)
        /// Set when the policy refuses inside the transaction: recorded (and thrown) after it rolls back.
        var refused: [PolicyRequest]?
        beforeSealTransaction?()
        let receipt: SealReceipt
        do {
            receipt = try write {
                // Close is final: the round's state is read again inside this write transaction, so
                // a seal racing `round close` either commits before the close or not at all.
                let now = try self.round(roundID, verifiedWith: actor.chairKey)
                guard now.state == .open, now.publicKey == round.publicKey else {
                    throw VaultError.usage("round \(roundID) is \(now.state.rawValue); nothing can be sealed into it any more")
                }
                let store = try batchChunkInserter(batch: batchID)
                let sealer = try BatchSealer(target: SealTarget(vaultID: id, round: now, policy: policy), evaluator: actor.principal,
                                             batchID: batchID, time: time) { try store.add(index: $0, ciphertext: $1) }
                try sealer.run(sheet, progress: progress)
                let requests = sealer.policyRequests()
                let decision = try Self.decide(requests, policy: policy)
                guard let decision else { refused = requests; throw VaultError.denied(policyIDs: []) }
                try sealer.checkConflict()
                let sealed = try sealer.finish(signer: actor.keys.signing)  // writes the last chunk
                store.finish()
                let accepted = try acceptBatch(sealed, importer: actor, decision: decision, action: "seal")
                return SealReceipt(batchID: sealed.name, count: sealed.count, round: roundID, receipt: accepted, receiptPath: "")
            }
        } catch let error as VaultError {
            if let refused { _ = try authorize(refused, actor: actor, target: target, details: [:], policy: policy) }
            switch error {
            case .invalidData:
                try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "seal", target: target, outcome: .failed,
                                              details: ["reason": .string("invalid scores")]), signer: actor.keys.signing)
            case .permission:
                try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "seal", target: target, outcome: .denied,
                                              details: ["reason": .string("conflict")]), signer: actor.keys.signing)
            default: break
            }
            throw error
        }
        let path = try client.saveReceipt(receipt.receipt)
        return SealReceipt(batchID: receipt.batchID, count: receipt.count, round: receipt.round, receipt: receipt.receipt, receiptPath: path)
    }

    /// The policy's decision on every request (nil when one is refused), without recording
    /// anything: inside a write transaction, a recorded refusal would be rolled back with it.
    static func decide(_ requests: [PolicyRequest], policy: PolicySet) throws -> PolicyDecision? {
        var last: PolicyDecision?
        for r in requests {
            let d = policy.evaluate(r)
            if !d.allowed { return nil }
            last = d
        }
        return last
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
    mutating func removeAll() { for i in bits.indices { bits[i] = 0 } }

    /// Adds every pair of `other` (same shape).
    mutating func formUnion(_ other: PairSet) { for i in bits.indices { bits[i] |= other.bits[i] } }

    func contains(_ row: Int, _ column: Int) -> Bool {
        let p = row * columns + column
        return bits[p >> 6] & (1 << UInt64(p & 63)) != 0
    }

    mutating func insert(_ row: Int, _ column: Int) -> Bool {
        let p = row * columns + column
        let mask: UInt64 = 1 << UInt64(p & 63)
        if bits[p >> 6] & mask != 0 { return false }
        bits[p >> 6] |= mask
        return true
    }
}

