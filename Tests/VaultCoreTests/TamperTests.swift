import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

/// Walks every column of every table, flips one byte (or bit) of one row on a copy of a finished
/// vault, and checks that the operation relying on it stops with exit 65 "integrity" — never a
/// different result.
@Suite("Tampering walk", .serialized)
struct TamperTests {
    enum Check: String { case reveal, identity, audit }

    /// Which row of each table is changed, and which operation must notice.
    static let rows: [String: (where: String, check: Check)] = [
        "vault_meta": ("key = 'vault_id'", .reveal),
        "principals": ("id = 'ev-1'", .reveal),
        "key_wraps": ("purpose = 'round-key'", .reveal),
        "policies": ("version = 1", .reveal),  // the version R1 opened under, which governs its reveals
        "rounds": ("id = 'R1'", .reveal),
        "batches": ("id = (SELECT min(id) FROM batches)", .reveal),
        "batch_chunks": ("rowid = (SELECT min(rowid) FROM batch_chunks)", .reveal),
        "audit_log": ("seq = 1", .audit),
        "checkpoints": ("size = (SELECT max(size) FROM checkpoints)", .audit),
        "manifests": ("round = 'R1'", .reveal),
    ]

    static func fixture() throws -> RoundFixture {
        let f = try RoundFixture()
        try f.makeRound()
        for ev in ["ev-1", "ev-3", "ev-4"] { try f.seal(ev, RoundFixture.teams.map { ($0, "performance", "60") }) }
        _ = try f.vault.applyPolicy(try PolicySet(source: DefaultPolicy.source + "// v2\n", fileName: "p"), actor: try f.actor("chair"))
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        try f.vault.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return f
    }

    /// Runs `check` against the vault in `dir` (a copy), returning the error it stopped with.
    static func run(_ check: Check, fixture f: RoundFixture, copy dir: String) -> VaultError? {
        do {
            // The chair's own client state, as it was when the vault was finished (a copy per run).
            let state = dir + "-state"
            if !FileManager.default.fileExists(atPath: state) { try FileManager.default.copyItem(atPath: f.state.directory, toPath: state) }
            let vault = try Vault.open(at: VaultLocation(directory: dir), state: ClientState(directory: state))
            let pass = f.dir.path + "/tamper-pass-\(UUID().uuidString)"
            func actor(_ id: String) throws -> Actor {
                try Data("pw-\(id)".utf8).write(to: URL(fileURLWithPath: pass))
                defer { unlink(pass) }
                return try vault.authenticate(PrincipalID(id), keyPath: id == "chair" ? dir + "/Keys/chair.key" : f.keyPath(id),
                                              passphrase: PassphraseSource(file: pass, environmentVariable: "X", subject: id), action: "t", target: "t")
            }
            switch check {
            case .reveal:
                _ = try vault.reveal(RevealRequest(round: "R1", stat: .mean, by: ["team"], trim: nil, advance: nil, precision: 2, format: .json),
                                     actor: try actor("chair"), coHolders: [], publish: false)
            case .identity:
                _ = try vault.revealIdentity(of: PrincipalID("ev-1"), reason: "tamper test", actor: try actor("au-1"))
            case .audit:
                let chair = try actor("chair")
                let prepared = try vault.prepareAuditExport(actor: chair, format: .jsonl)
                let path = dir + "/export.jsonl"
                let w = try Files.AtomicWriter(path: path, mode: 0o600)
                try vault.writeAuditExport(format: .jsonl, checkpoint: prepared.checkpoint, chairKey: chair.chairKey) { try w.write($0) }
                try w.commit()
                _ = try AuditVerifier.verify(path: path)
            }
            return nil
        } catch let e as VaultError {
            return e
        } catch {
            return .internalError("\(error)")
        }
    }

    @Test("every column of every table: one changed byte stops the operation that relies on it with 65 integrity")
    func walk() throws {
        let f = try Self.fixture()
        for check in [Check.reveal, .identity, .audit] {
            let clean = FileManager.default.temporaryDirectory.appendingPathComponent("tamper-clean-\(UUID().uuidString)").path
            try FileManager.default.copyItem(atPath: f.location.directory, toPath: clean)
            defer { try? FileManager.default.removeItem(atPath: clean) }
            #expect(Self.run(check, fixture: f, copy: clean) == nil, "the untouched copy must pass \(check)")
        }
        // Every table and column of the schema.
        let tables = try f.vault.database.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        var columns: [(String, String, Bool, String)] = []  // table, column, in primary key, declared type
        var names: [String] = []
        while try tables.step() { names.append(tables.text(0)) }
        for t in names {
            let info = try f.vault.database.prepare("PRAGMA table_info(\(t))")
            while try info.step() { columns.append((t, info.text(1), info.int(5) > 0, info.text(2))) }
        }
        #expect(Set(names) == Set(Self.rows.keys), "a table without a tampering rule: \(Set(names).symmetricDifference(Self.rows.keys))")
        var cases = columns.map { (table: $0.0, column: $0.1, pk: $0.2, type: $0.3, row: Self.rows[$0.0]!.where, check: Self.rows[$0.0]!.check) }
        for c in columns where c.0 == "key_wraps" {  // the identity-key wrap, relied on by identity reveal
            cases.append((c.0, c.1, c.2, c.3, "purpose = 'identity-key' AND recipient = 'au-1'", .identity))
        }
        var detected = 0
        for c in cases {
            let copy = FileManager.default.temporaryDirectory.appendingPathComponent("tamper-\(UUID().uuidString)").path
            try FileManager.default.copyItem(atPath: f.location.directory, toPath: copy)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            let db = try Database(path: copy + "/vault.db", create: false)
            // A writer of the file can switch off every guard SQLite offers; so does the test.
            try db.execute("PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON; DROP TRIGGER IF EXISTS audit_log_no_update")
            let read = try db.prepare("SELECT \(c.column) FROM \(c.table) WHERE \(c.row)")
            #expect(try read.step(), "no row \(c.row) in \(c.table)")
            switch c.type {
            case "INTEGER":
                let v = read.int(0)
                try db.prepare("UPDATE \(c.table) SET \(c.column) = ? WHERE \(c.row)").bind(c.pk ? v + 100_000 : v ^ 1).run()
            case "TEXT":
                var b = Array(read.text(0).utf8)
                if b.isEmpty { b = [0x78] } else { b[b.count / 2] ^= 0x01 }
                try db.prepare("UPDATE \(c.table) SET \(c.column) = ? WHERE \(c.row)").bind(String(decoding: b, as: UTF8.self)).run()
            default:
                // A column empty in the chosen row (a sealed round's `ceremony`) is given a value:
                // adding one must be caught as changing one is.
                var b = read.isNull(0) ? [0x78] : read.blob(0)
                b[b.count / 2] ^= 0x01
                try db.prepare("UPDATE \(c.table) SET \(c.column) = ? WHERE \(c.row)").bind(b).run()
            }
            let e = Self.run(c.check, fixture: f, copy: copy)
            let ok = e?.exitStatus == .dataError && e?.message.contains("integrity") == true
            #expect(ok, "\(c.table).\(c.column) (\(c.check)): \(e?.message ?? "not detected")")
            if ok { detected += 1 }
        }
        print("tampering walk: \(cases.count) columns changed, \(detected) stopped with 65 integrity")
        #expect(cases.count >= 45)
    }
}
