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
        subcommands: [AuditBench.self]
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
