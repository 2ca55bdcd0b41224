import ArgumentParser
import Foundation
import VaultCore
import VaultCrypto

/// Benchmarks for SPEC §10, run in release builds: `swift run -c release evalvault-bench audit`.
/// Each prints its figures; nothing here is a pass/fail test.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evalvault-bench",
        abstract: "EvalVault benchmarks (SPEC §10). Build in release: swift run -c release evalvault-bench …",
        subcommands: [AuditBench.self, SealBench.self, RevealBench.self]
    )
}

/// Audit append and verify rates (issue: "append and verify rates for 100,000 entries").
struct AuditBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Append N signed entries, export, and verify the export offline.",
        discussion: """
            Reports: appends per second with all N in one transaction (the log's own cost: JCS,
            leaf hash, Ed25519 signature, O(log n) frontier update, SQLite insert); appends per
            second with one transaction each, as separate commands do (dominated by fsync);
            export and verify rates; peak resident memory.
            """)

    @Option(help: "How many entries.") var entries = 100_000
    @Option(help: "How many of them to append one transaction each.") var committed = 500

    func run() throws {
        let dir = NSTemporaryDirectory() + "evalvault-bench-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let location = VaultLocation(directory: dir + "/vault")
        let pass = SecureBytes(Array("bench passphrase".utf8))
        _ = try Vault.initialize(at: location, chair: PrincipalID("chair"), passphrase: pass, identity: nil, kdf: Scrypt.Parameters(log2N: 10))
        let passFile = dir + "/pass"
        try Data("bench passphrase".utf8).write(to: URL(fileURLWithPath: passFile))
        let vault = try Vault.open(at: location)
        let chair = try vault.authenticate(PrincipalID("chair"), keyPath: nil,
                                           passphrase: PassphraseSource(file: passFile, environmentVariable: "UNUSED", subject: "chair"),
                                           action: "audit.export", target: "bench")
        func record(_ i: Int) -> AuditRecord {
            AuditRecord(actor: "chair", authenticated: true, action: "seal", target: "round/R1", decision: .allow,
                        policies: ["evaluators-seal-open-rounds"], policySHA256: String(repeating: "ab", count: 32),
                        details: ["batch": .string("b\(i)"), "scores": .integer(10)])
        }

        let bulk = entries - committed
        var t = Date()
        try vault.database.transaction {
            for i in 0..<bulk { try vault.appendAudit(record(i), signer: chair.keys.signing) }
        }
        let bulkSeconds = Date().timeIntervalSince(t)

        t = Date()
        for i in 0..<committed {
            try vault.database.transaction { try vault.appendAudit(record(bulk + i), signer: chair.keys.signing) }
        }
        let committedSeconds = Date().timeIntervalSince(t)

        let prepared = try vault.prepareAuditExport(actor: chair, format: .jsonl)
        let exportPath = dir + "/audit.jsonl"
        t = Date()
        let writer = try Files.AtomicWriter(path: exportPath, mode: 0o644)
        var buffer: [UInt8] = []
        try vault.writeAuditExport(format: .jsonl, checkpoint: prepared.checkpoint, chairKey: chair.chairKey) { bytes in
            buffer += bytes
            if buffer.count > 1 << 16 { try writer.write(buffer); buffer.removeAll(keepingCapacity: true) }
        }
        try writer.write(buffer)
        try writer.commit()
        let exportSeconds = Date().timeIntervalSince(t)
        let size = (try FileManager.default.attributesOfItem(atPath: exportPath)[.size] as? Int) ?? 0

        t = Date()
        let summary = try AuditVerifier.verify(path: exportPath)
        let verifySeconds = Date().timeIntervalSince(t)

        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func rate(_ n: Int, _ s: Double) -> String { String(format: "%.0f/s (%.2f s)", Double(n) / s, s) }
        print("audit log, \(summary.size) entries (\(size / 1024) KiB export):")
        print("  append, one transaction:        \(rate(bulk, bulkSeconds))")
        print("  append, a transaction each:     \(rate(committed, committedSeconds))  [fsync-bound, synchronous=FULL]")
        print("  export (streaming):             \(rate(summary.size, exportSeconds))")
        print("  verify (offline, 1 core):       \(rate(summary.size, verifySeconds))")
        print("  peak resident memory:           \(usage.ru_maxrss / 1024) MiB")
    }
}

/// A temporary vault with a chair and one evaluator, for the benchmarks.
struct BenchVault {
    let dir = NSTemporaryDirectory() + "evalvault-bench-\(UUID().uuidString)"
    let vault: Vault
    let chair: Actor
    let evaluator: Actor

    init() throws {
        let location = VaultLocation(directory: dir + "/vault")
        let kdf = try Scrypt.Parameters(log2N: 10)
        _ = try Vault.initialize(at: location, chair: PrincipalID("chair"), passphrase: SecureBytes(Array("bench".utf8)), identity: nil, kdf: kdf)
        try Data("bench".utf8).write(to: URL(fileURLWithPath: dir + "/pass"))
        vault = try Vault.open(at: location)
        let source = PassphraseSource(file: dir + "/pass", environmentVariable: "UNUSED", subject: "bench")
        chair = try vault.authenticate(PrincipalID("chair"), keyPath: nil, passphrase: source, action: "bench", target: "bench")
        let keys = PrivateKeys.generate()
        try KeyFile.write(keys, to: dir + "/ev-1", passphrase: SecureBytes(Array("bench".utf8)), kdf: kdf)
        _ = try vault.addPrincipal(id: PrincipalID("ev-1"), role: .evaluator, publicKeys: keys.publicKeys, identity: nil, conflicts: [], actor: chair)
        evaluator = try vault.authenticate(PrincipalID("ev-1"), keyPath: dir + "/ev-1.key", passphrase: source, action: "bench", target: "bench")
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    static func peakMiB() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss / 1024
    }
}

/// Bulk seal from one CSV (SPEC §10: ≥ 300,000 scores/s).
struct SealBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Seal N scores from one CSV file as one batch, in process: read, parse, check, seal, commit.",
        discussion: "The round has 10,000 teams × 100 criteria, so one evaluator's batch can hold a million distinct places.")

    @Option(help: "How many scores.") var scores = 1_000_000

    func run() throws {
        let b = try BenchVault()
        defer { b.remove() }
        let teams = 10_000, criteria = 100
        let toml = "id = \"B\"\nteams = [\((0..<teams).map { "\"t\($0)\"" }.joined(separator: ","))]\n[reveal]\nholders = [\"chair\"]\nthreshold = 1\n"
            + (0..<criteria).map { "[[criteria]]\nid = \"c\($0)\"\nweight = 1\nmin = 0\nmax = 100\nstep = 0.5\n" }.joined()
        try b.vault.createRound(try RoundFile.parse(toml, file: "bench.toml"), actor: b.chair)
        _ = try b.vault.openRound("B", actor: b.chair)

        // Deterministic data: place i is (t[i / 100], c[i % 100]), score from a fixed LCG.
        var csv = "team,criterion,score\n"
        var x: UInt64 = 42
        for i in 0..<scores {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            csv += "t\(i / criteria),c\(i % criteria),\(Double(x >> 33 % 201) / 2)\n"
        }
        let path = b.dir + "/scores.csv"
        try Data(csv.utf8).write(to: URL(fileURLWithPath: path))
        csv = ""

        var t = Date()
        let inputs = try ScoreSheet.fromCSV(file: path)
        let parseSeconds = Date().timeIntervalSince(t)
        t = Date()
        let receipt = try b.vault.seal(inputs, round: "B", actor: b.evaluator, file: path)
        let sealSeconds = Date().timeIntervalSince(t)
        let total = parseSeconds + sealSeconds
        print("bulk seal, \(receipt.count) scores in one batch:")
        print(String(format: "  read + parse CSV:        %.2f s", parseSeconds))
        print(String(format: "  check + seal + commit:   %.2f s", sealSeconds))
        print(String(format: "  end to end (in process): %.0f scores/s (%.2f s); SPEC §10 target 300,000/s", Double(receipt.count) / total, total))
        print("  peak resident memory:    \(BenchVault.peakMiB()) MiB")
    }
}

/// Reveal weighted_total and rank over many seals (SPEC §10: 1,000,000 seals from 1,000
/// evaluators in ≤ 2 s beyond the KDF, ≤ 256 MiB). The actors are authenticated before the
/// clock starts, so the figure excludes every passphrase KDF.
struct RevealBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reveal",
        abstract: "Seal E evaluators × T teams × C criteria scores, close, then time reveal weighted_total and rank.")

    @Option(help: "Evaluators.") var evaluators = 1_000
    @Option(help: "Teams.") var teams = 10
    @Option(help: "Criteria.") var criteria = 100

    func run() throws {
        let b = try BenchVault()
        defer { b.remove() }
        let toml = "id = \"B\"\nteams = [\((0..<teams).map { "\"t\($0)\"" }.joined(separator: ","))]\n[reveal]\nholders = [\"chair\"]\nthreshold = 1\n"
            + (0..<criteria).map { "[[criteria]]\nid = \"c\($0)\"\nweight = \($0 % 7 + 1)\nmin = 0\nmax = 100\nstep = 0.5\n" }.joined()
        try b.vault.createRound(try RoundFile.parse(toml, file: "bench.toml"), actor: b.chair)
        _ = try b.vault.openRound("B", actor: b.chair)
        var t = Date()
        var x: UInt64 = 7
        let kdf = try Scrypt.Parameters(log2N: 10)
        for e in 0..<evaluators {
            let keys = PrivateKeys.generate()
            let id = try PrincipalID(String(format: "ev-%05d", e))
            try KeyFile.write(keys, to: b.dir + "/\(id)", passphrase: SecureBytes(Array("bench".utf8)), kdf: kdf)
            _ = try b.vault.addPrincipal(id: id, role: .evaluator, publicKeys: keys.publicKeys, identity: nil, conflicts: [], actor: b.chair)
            let actor = try b.vault.authenticate(id, keyPath: b.dir + "/\(id).key",
                                                 passphrase: PassphraseSource(file: b.dir + "/pass", environmentVariable: "UNUSED", subject: "bench"),
                                                 action: "bench", target: "bench")
            var inputs: [ScoreInput] = []
            inputs.reserveCapacity(teams * criteria)
            for team in 0..<teams {
                for c in 0..<criteria {
                    x = x &* 6364136223846793005 &+ 1442695040888963407
                    inputs.append(ScoreInput(team: "t\(team)", criterion: "c\(c)", score: Fixed(micros: Int64((x >> 33) % 201) * 500_000), comment: nil))
                }
            }
            _ = try b.vault.seal(inputs, round: "B", actor: actor)
        }
        let sealSeconds = Date().timeIntervalSince(t)
        _ = try b.vault.closeRound("B", actor: b.chair)
        let total = evaluators * teams * criteria
        print("reveal over \(total) seals from \(evaluators) evaluators (\(teams) teams × \(criteria) criteria):")
        print(String(format: "  setup (enrol + seal):        %.1f s", sealSeconds))
        for stat in [Statistic.weightedTotal, .rank] {
            t = Date()
            let o = try b.vault.reveal(RevealRequest(round: "B", stat: stat, by: ["team"], trim: nil, advance: stat == .rank ? 4 : nil,
                                                     precision: 2, format: .table), actor: b.chair, coHolders: [], publish: false)
            print(String(format: "  reveal %@ (beyond the KDF): %.2f s; %d groups; SPEC §10 target 2 s", stat.rawValue, Date().timeIntervalSince(t), o.result.groups.count))
        }
        print("  peak resident memory:        \(BenchVault.peakMiB()) MiB (whole run; SPEC §10 target 256 MiB)")
    }
}
