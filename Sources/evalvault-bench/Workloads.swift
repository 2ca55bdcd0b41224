import ArgumentParser
import Foundation
import VaultCore
import VaultCrypto

// The workers the runner starts as child processes, one measurement each, so that every peak
// memory figure belongs to one piece of work. Each prints `result NAME VALUE` lines.

/// The passphrase of every bench principal (a benchmark vault holds no real secret).
let benchPassphrase = "bench passphrase"

/// Deterministic scores: a fixed LCG, values 0–100 in steps of 0.5.
struct ScoreStream {
    private var x: UInt64
    init(seed: UInt64) { x = seed }
    mutating func next() -> Int64 {
        x = x &* 6364136223846793005 &+ 1442695040888963407
        return Int64((x >> 33) % 201)  // units of 0.5
    }
    static func text(_ units: Int64) -> String { units % 2 == 0 ? "\(units / 2)" : "\(units / 2).5" }
}

/// A fresh vault in `dir/vault` with its chair, and helpers.
struct BenchVault {
    let dir: String
    let vault: Vault
    let chair: Actor

    init(dir: String, chairKDF: Scrypt.Parameters) throws {
        self.dir = dir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(benchPassphrase.utf8).write(to: URL(fileURLWithPath: dir + "/pass"))
        let location = VaultLocation(directory: dir + "/vault")
        _ = try Vault.initialize(at: location, chair: PrincipalID("chair"), passphrase: SecureBytes(Array(benchPassphrase.utf8)),
                                 identity: nil, kdf: chairKDF)
        vault = try Vault.open(at: location)
        chair = try vault.authenticate(PrincipalID("chair"), keyPath: nil, passphrase: Self.passphrase(dir), action: "bench", target: "bench")
    }

    static func passphrase(_ dir: String) -> PassphraseSource {
        PassphraseSource(file: dir + "/pass", environmentVariable: "EVALVAULT_BENCH_UNUSED", subject: "bench")
    }

    /// Enrols an evaluator whose key file (`dir/ID.key`) uses `kdf`, and signs in as it.
    func evaluator(_ id: String, kdf: Scrypt.Parameters) throws -> Actor {
        let keys = PrivateKeys.generate()
        try KeyFile.write(keys, to: dir + "/\(id)", passphrase: SecureBytes(Array(benchPassphrase.utf8)), kdf: kdf)
        _ = try vault.addPrincipal(id: PrincipalID(id), role: .evaluator, publicKeys: keys.publicKeys, identity: nil, conflicts: [], actor: chair)
        return try vault.authenticate(PrincipalID(id), keyPath: dir + "/\(id).key", passphrase: Self.passphrase(dir), action: "bench", target: "bench")
    }

    /// Creates and opens a round (default B): `teams` × `criteria`, every criterion 0–100 in steps of
    /// 0.5, declaring weighted_total and rank (advance 4) by team.
    func openRound(_ id: String = "B", teams: Int, criteria: Int) throws {
        let toml = "id = \"\(id)\"\ntitle = \"benchmark\"\nteams = [\((0..<teams).map { "\"t\($0)\"" }.joined(separator: ","))]\n"
            + "[reveal]\nholders = [\"chair\"]\nthreshold = 1\n"
            + (0..<criteria).map { "[[criteria]]\nid = \"c\($0)\"\nweight = \($0 % 7 + 1)\nmin = 0\nmax = 100\nstep = 0.5\n" }.joined()
            // The reveals data set B is timed on (the default policy permits only declared ones).
            + "[[publish]]\nstat = \"weighted_total\"\nby = [\"team\"]\n[[publish]]\nstat = \"rank\"\nby = [\"team\"]\nadvance = 4\n"
        try vault.createRound(try RoundFile.parse(toml, file: "bench.toml"), actor: chair)
        _ = try vault.openRound(id, actor: chair)
    }
}

/// Writes text in large pieces.
final class TextFile {
    private let handle: FileHandle
    private var buffer = ""
    init(_ path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw VaultError.permission("cannot create \(path)") }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }
    func write(_ s: String) throws {
        buffer += s
        if buffer.utf8.count > 1 << 20 { try flush() }
    }
    func flush() throws { try handle.write(contentsOf: Data(buffer.utf8)); buffer = "" }
    func close() throws { try flush(); try handle.close() }
}

/// Data set A: one evaluator's CSV of N scores over 10,000 teams × 100 criteria, an open round
/// to seal it into, the same rows without a header for SQLCipher, and round I (8 teams × 5
/// criteria, the size of a real contest) for the interactive seal.
struct PrepareSeal: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prepare-seal", abstract: "Make data set A (bulk seal).", shouldDisplay: false)
    @Option var dir: String
    @Option var scores: Int

    func run() throws {
        let criteria = 100, teams = max(1, (scores + criteria - 1) / criteria)
        let b = try BenchVault(dir: dir, chairKDF: try Scrypt.Parameters(log2N: 10))
        _ = try b.evaluator("ev-1", kdf: .interactive)  // the real cost: `seal` pays it once per run
        try b.openRound(teams: teams, criteria: criteria)  // the panel: the evaluators enrolled now
        try b.openRound("I", teams: 8, criteria: 5)
        let csv = try TextFile(dir + "/scores.csv"), rows = try TextFile(dir + "/scores-rows.csv")
        try csv.write("team,criterion,score\n")
        var stream = ScoreStream(seed: 42)
        for i in 0..<scores {
            let line = "t\(i / criteria),c\(i % criteria),\(ScoreStream.text(stream.next()))\n"
            try csv.write(line); try rows.write(line)
        }
        try csv.close(); try rows.close()
    }
}

/// Data set D, the citizens' contest: one evaluator's CSV of teams × criteria scores (100,000 ×
/// 100 at full size) and an open round for it. The round's vault applies the default policy
/// without its min-group rule, so one evaluator's scores can be revealed to time the reveal (a
/// real round needs 3 evaluators per cell; the work timed is the same).
struct PrepareCitizens: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prepare-citizens", abstract: "Make data set D (10,000,000 scores).", shouldDisplay: false)
    @Option var dir: String
    @Option var teams: Int
    @Option var criteria = 100

    func run() throws {
        let b = try BenchVault(dir: dir, chairKDF: try Scrypt.Parameters(log2N: 10))
        _ = try b.evaluator("ev-1", kdf: try Scrypt.Parameters(log2N: 10))
        let relaxed = DefaultPolicy.source.replacingOccurrences(of: "resource.min_group < 3", with: "resource.min_group < 1")
        _ = try b.vault.applyPolicy(try PolicySet.load(Array(relaxed.utf8), fileName: "bench.policy"), actor: b.chair)
        try b.openRound(teams: teams, criteria: criteria)
        // Written as bytes: ten million lines through String would take longer than the seal.
        let fd = open(dir + "/scores.csv", O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        guard fd >= 0 else { throw VaultError.permission("cannot create \(dir)/scores.csv") }
        defer { close(fd) }
        var out: [UInt8] = Array("team,criterion,score\n".utf8)
        var stream = ScoreStream(seed: 99)
        func digits(_ n: Int) { if n >= 10 { digits(n / 10) }; out.append(UInt8(48 + n % 10)) }
        for t in 0..<teams {
            for c in 0..<criteria {
                out.append(UInt8(ascii: "t")); digits(t); out.append(UInt8(ascii: ",")); out.append(UInt8(ascii: "c")); digits(c)
                out.append(UInt8(ascii: ","))
                let u = Int(stream.next())
                digits(u / 2)
                if u % 2 == 1 { out.append(UInt8(ascii: ".")); out.append(UInt8(ascii: "5")) }
                out.append(UInt8(ascii: "\n"))
            }
            if out.count > 1 << 20 {
                _ = out.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                out.removeAll(keepingCapacity: true)
            }
        }
        _ = out.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}

/// Data set B: E evaluators × T teams × C criteria sealed (one batch each) into round B, closed;
/// the same rows as CSV for SQLCipher.
struct PrepareReveal: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prepare-reveal", abstract: "Make data set B (reveal).", shouldDisplay: false)
    @Option var dir: String
    @Option var evaluators: Int
    @Option var teams: Int
    @Option var criteria: Int

    func run() throws {
        let b = try BenchVault(dir: dir, chairKDF: .interactive)  // `reveal` pays the chair's real KDF
        let rows = try TextFile(dir + "/reveal-rows.csv")
        var stream = ScoreStream(seed: 7)
        let cheap = try Scrypt.Parameters(log2N: 10)
        let panel = try (0..<evaluators).map { e in try b.evaluator(String(format: "ev-%05d", e), kdf: cheap) }
        try b.openRound(teams: teams, criteria: criteria)  // the panel: the evaluators enrolled now
        for (e, actor) in panel.enumerated() {
            let id = String(format: "ev-%05d", e)
            var inputs: [ScoreInput] = []
            inputs.reserveCapacity(teams * criteria)
            for t in 0..<teams {
                for c in 0..<criteria {
                    let units = stream.next()
                    inputs.append(ScoreInput(team: "t\(t)", criterion: "c\(c)", score: Fixed(micros: units * 500_000), comment: nil))
                    try rows.write("\(id),t\(t),c\(c),\(ScoreStream.text(units))\n")
                }
            }
            _ = try b.vault.seal(inputs, round: "B", actor: actor)
        }
        try rows.close()
        _ = try b.vault.closeRound("B", actor: b.chair)
    }
}

/// Reveals weighted_total, then rank, of data set B in this process; the chair's KDF is timed
/// apart, so the reveal figures are "beyond the KDF" (design: Performance).
struct RevealOnce: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reveal-once", abstract: "Time one reveal of data set B.", shouldDisplay: false)
    @Option var dir: String

    func run() throws {
        let vault = try Vault.open(at: VaultLocation(directory: dir + "/vault"))
        var t = Date()
        let chair = try vault.authenticate(PrincipalID("chair"), keyPath: nil, passphrase: BenchVault.passphrase(dir), action: "reveal", target: "round/B")
        WorkerResult.report("kdf_s", Date().timeIntervalSince(t))
        for (name, stat) in [("weighted_total_s", Statistic.weightedTotal), ("rank_s", .rank)] as [(StaticString, Statistic)] {
            t = Date()
            let o = try vault.reveal(RevealRequest(round: "B", stat: stat, by: ["team"], trim: nil, advance: stat == .rank ? 4 : nil,
                                                   precision: 2, format: .table), actor: chair, coHolders: [], publish: false)
            WorkerResult.report(name, Date().timeIntervalSince(t))
            WorkerResult.report("groups", o.result.groups.count)
        }
    }
}

/// The cost of one passphrase KDF at the given scrypt cost.
struct KDFOnce: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kdf", abstract: "Time one scrypt derivation.", shouldDisplay: false)
    @Option var log2n = Scrypt.Parameters.interactive.log2N

    func run() throws {
        let t = Date()
        _ = try Scrypt.deriveKey(passphrase: Array(benchPassphrase.utf8), salt: [UInt8](repeating: 1, count: 16),
                                 parameters: try Scrypt.Parameters(log2N: log2n))
        WorkerResult.report("kdf_s", Date().timeIntervalSince(t))
    }
}

/// Audit append and verify rates for N signed entries.
struct AuditOnce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-once",
        abstract: "Append N signed entries and export them (the runner verifies the export with `evalvault audit verify`).",
        discussion: """
            Appends with all N in one transaction (the log's own cost: JCS, leaf hash, Ed25519
            signature, O(log n) frontier update, SQLite insert), and a few hundred with one
            transaction each, as separate commands do (dominated by fsync); then exports them.
            """, shouldDisplay: false)
    @Option var dir: String
    @Option var entries: Int
    @Option var committed = 300

    func run() throws {
        let b = try BenchVault(dir: dir, chairKDF: try Scrypt.Parameters(log2N: 10))
        func record(_ i: Int) -> AuditRecord {
            AuditRecord(actor: "chair", authenticated: true, action: "seal", target: "round/R1", decision: .allow,
                        policies: ["evaluators-seal-open-rounds"], policySHA256: String(repeating: "ab", count: 32),
                        details: ["batch": .string("b\(i)"), "scores": .integer(10)])
        }
        let bulk = max(0, entries - committed)
        var t = Date()
        try b.vault.write {
            for i in 0..<bulk { try b.vault.appendAudit(record(i), signer: b.chair.keys.signing) }
        }
        WorkerResult.report("append_per_s", Double(bulk) / Date().timeIntervalSince(t))
        t = Date()
        for i in 0..<(entries - bulk) {
            try b.vault.write { try b.vault.appendAudit(record(bulk + i), signer: b.chair.keys.signing) }
        }
        WorkerResult.report("append_committed_per_s", Double(entries - bulk) / Date().timeIntervalSince(t))

        let prepared = try b.vault.prepareAuditExport(actor: b.chair, format: .jsonl)
        let path = dir + "/audit.jsonl"
        let writer = try Files.AtomicWriter(path: path, mode: 0o644)
        var buffer: [UInt8] = []
        try b.vault.writeAuditExport(format: .jsonl, checkpoint: prepared.checkpoint, chairKey: b.chair.chairKey) { bytes in
            buffer += bytes
            if buffer.count > 1 << 16 { try writer.write(buffer); buffer.removeAll(keepingCapacity: true) }
        }
        try writer.write(buffer)
        try writer.commit()
        WorkerResult.report("exported_entries", prepared.checkpoint.checkpoint.size)
    }
}
