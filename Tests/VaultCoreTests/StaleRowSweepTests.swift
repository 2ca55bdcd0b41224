import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

/// The generic stale-row sweep: snapshot a vault, act on (seal, supersede, disable, apply a
/// policy, close, open another round), then, on a fresh copy each time, put back each row of
/// each table as the snapshot had it, and delete each row that is newer than the snapshot. For
/// every variant, a battery of reads that covers every object either fails with 65 "integrity"
/// or prints exactly what it printed on the untouched vault.
@Suite("Stale-row sweep", .serialized)
struct StaleRowSweepTests {
    /// Everything a client reads of the vault, as text; or the error it stopped with.
    static func battery(_ f: RoundFixture, directory: String, state: String) -> Result<String, VaultError> {
        do {
            let vault = try Vault.open(at: VaultLocation(directory: directory), state: ClientState(directory: state))
            let chairKey = try vault.chairKey
            var out: [String] = []
            for p in try vault.allPrincipals(verifiedWith: chairKey) {
                out.append("principal \(p.id) \(p.role) \(p.enabled) \(p.version) \(p.conflicts)")
            }
            for id in try vault.roundIDs() {
                let r = try vault.round(id, verifiedWith: chairKey)
                let c = try vault.sealCounts(id)
                out.append("round \(id) \(r.state) v\(r.version) policy \(r.policyVersion ?? 0) batches \(c.batches) scores \(c.scores)")
                out.append("governed by \(try vault.policy(for: r, chairKey: chairKey).version)")
            }
            let p = try vault.policyInForce(chairKey: chairKey)
            out.append("policy \(p.version) \(p.set.sha256Hex)")
            out.append("manifest \(Hex.encode(try vault.manifest(of: "R1").root))")
            out.append("checkpoint \(try vault.latestCheckpoint()?.checkpoint.size ?? -1)")
            let chair = try f.actor("chair", in: vault)
            let revealed = try vault.reveal(RevealRequest(round: "R1", stat: .mean, by: ["team"], trim: nil, advance: nil, precision: 2, format: .json),
                                            actor: chair, coHolders: [], publish: false)
            out.append(String(decoding: revealed.output, as: UTF8.self))
            let identity = try vault.revealIdentity(of: PrincipalID("ev-1"), reason: "sweep", actor: try f.actor("au-1", in: vault))
            out.append("identity \(identity.map { String(decoding: $0.unsafeArray(), as: UTF8.self) } ?? "none")")
            _ = try vault.roundPrivateKey(try vault.round("R2", verifiedWith: chairKey), holders: [chair])
            return .success(out.joined(separator: "\n"))
        } catch let e as VaultError {
            return .failure(e)
        } catch {
            return .failure(.internalError("\(error)"))
        }
    }

    static func columns(_ db: Database, _ table: String) throws -> (all: [String], key: [String]) {
        let s = try db.prepare("PRAGMA table_info(\(table))")
        var all: [String] = [], key: [(Int, String)] = []
        while try s.step() {
            all.append(s.text(1))
            if s.int(5) > 0 { key.append((s.int(5), s.text(1))) }
        }
        return (all, key.sorted { $0.0 < $1.0 }.map(\.1))
    }

    @Test("every row put back from a snapshot, and every newer row deleted: each read fails 65 integrity or prints what it printed before")
    func sweep() throws {
        let f = try RoundFixture()
        try f.makeRound()
        for ev in ["ev-1", "ev-3", "ev-4"] { try f.seal(ev, RoundFixture.teams.map { ($0, "performance", "60") }) }
        try f.vault.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        let snapshot = f.dir.path + "/snapshot.db"
        try FileManager.default.copyItem(atPath: f.location.databasePath, toPath: snapshot)

        // More actions after the snapshot.
        try f.seal("ev-1", RoundFixture.teams.map { ($0, "performance", "75") })  // supersedes
        try f.seal("ev-2", [("naver-cloud", "performance", "80")])  // safety alone would be a cell of one: refused
        try f.vault.disablePrincipal(PrincipalID("ev-3"), actor: try f.actor("chair"))
        _ = try f.vault.applyPolicy(try PolicySet(source: DefaultPolicy.source + "// v2\n", fileName: "v2"), actor: try f.actor("chair"))
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        try f.makeRound("R2")
        try f.vault.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        let work = f.dir.path + "/sweep"
        func fresh() throws -> (String, String) {
            try? FileManager.default.removeItem(atPath: work)
            try? FileManager.default.removeItem(atPath: work + "-state")
            try FileManager.default.copyItem(atPath: f.location.directory, toPath: work)
            try FileManager.default.copyItem(atPath: f.state.directory, toPath: work + "-state")
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: work + "/vault.db" + suffix) }
            return (work, work + "-state")
        }
        let (d0, s0) = try fresh()
        guard case .success(let baseline) = Self.battery(f, directory: d0, state: s0) else {
            Issue.record("the untouched vault must pass: \(Self.battery(f, directory: d0, state: s0))")
            return
        }

        // The variants: (table, SQL applied to a fresh copy with the snapshot attached as `snap`).
        let db = try Database(path: f.location.databasePath, create: false)
        try db.execute("ATTACH DATABASE '\(snapshot)' AS snap")
        let tables = try db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        var names: [String] = []
        while try tables.step() { names.append(tables.text(0)) }
        var variants: [(table: String, what: String, sql: String)] = []
        for t in names {
            let (all, key) = try Self.columns(db, t)
            let list = all.joined(separator: ", ")
            func conditions(_ from: String) throws -> [String] {
                // e.g. "id = 'ev-3'" for each selected row
                let s = try db.prepare("SELECT \(key.map { "'\($0) = ' || quote(\($0))" }.joined(separator: " || ' AND ' || ")) FROM \(from)")
                var out: [String] = []
                while try s.step() { out.append(s.text(0)) }
                return out
            }
            let snapHas = (try? db.prepare("SELECT 1 FROM snap.sqlite_schema WHERE name = ?").bind(t).step()) ?? false
            guard snapHas else { continue }
            // Rows the snapshot had that differ now: put each back.
            for cond in try conditions("(SELECT \(list) FROM snap.\(t) EXCEPT SELECT \(list) FROM main.\(t))") {
                variants.append((t, "put back \(cond)", "DELETE FROM main.\(t) WHERE \(cond); INSERT INTO main.\(t) (\(list)) SELECT \(list) FROM snap.\(t) WHERE \(cond)"))
            }
            // Rows newer than the snapshot: delete each.
            let keyList = key.joined(separator: ", ")
            for cond in try conditions("(SELECT \(keyList) FROM main.\(t) EXCEPT SELECT \(keyList) FROM snap.\(t))") {
                variants.append((t, "delete \(cond)", "DELETE FROM main.\(t) WHERE \(cond)"))
            }
        }
        let touched = Set(variants.map(\.table))
        // Every table that changed after the snapshot produced variants.
        #expect(touched.isSuperset(of: ["principals", "rounds", "policies", "key_wraps", "batches", "batch_chunks", "audit_log", "checkpoints", "manifests"]),
                "\(touched)")

        var refused = 0, same = 0
        for v in variants {
            let (dir, state) = try fresh()
            let copy = try Database(path: dir + "/vault.db", create: false)
            try copy.execute("PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON; DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete")
            try copy.execute("ATTACH DATABASE '\(snapshot)' AS snap")
            try copy.execute(v.sql)
            try copy.execute("DETACH DATABASE snap; PRAGMA wal_checkpoint(TRUNCATE)")
            switch Self.battery(f, directory: dir, state: state) {
            case .success(let out):
                #expect(out == baseline, "\(v.table): \(v.what) changed what a client reads without being noticed")
                if out == baseline { same += 1 }
            case .failure(let e):
                #expect(e.exitStatus == .dataError && e.message.contains("integrity"), "\(v.table): \(v.what): \(e.message)")
                if e.exitStatus == .dataError { refused += 1 }
            }
        }
        print("stale-row sweep: \(variants.count) variants over \(touched.count) tables; \(refused) refused with 65 integrity, \(same) read exactly as before")
        #expect(variants.count >= 15)
        #expect(refused + same == variants.count)
    }
}
