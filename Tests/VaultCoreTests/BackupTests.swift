import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

/// `backup` and `restore` (design: Backup and restore): a restored vault reveals the same bytes;
/// a backup older than what a client has seen is a rollback, refused; a changed backup is
/// refused before anything is written.
@Suite("Backup and restore", .serialized)
struct BackupTests {
    /// A closed round with three evaluators on every place (enough for the default policy).
    static func closedRound() throws -> RoundFixture {
        let f = try RoundFixture()
        try f.makeRound()
        for (i, ev) in ["ev-1", "ev-3", "ev-4"].enumerated() {
            try f.seal(ev, RoundFixture.teams.flatMap { t in [(t, "performance", String(60 + 10 * i + t.count)), (t, "safety", String(1 + i))] })
        }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        return f
    }

    static func reveals(_ vault: Vault, _ f: RoundFixture) throws -> [[UInt8]] {
        let chair = try f.actor("chair", in: vault)
        return try [(Statistic.rank, ["team"], 1 as Int?, RevealFormat.csv), (.mean, ["team", "criterion"], nil, .json)].map { stat, by, advance, format in
            try vault.reveal(RevealRequest(round: "R1", stat: stat, by: by, trim: nil, advance: advance, precision: 2, format: format),
                             actor: chair, coHolders: [], publish: false).output
        }
    }

    func passphrase(_ f: RoundFixture, _ text: String = "pw-chair") throws -> PassphraseSource {
        let file = f.dir.path + "/pass-\(UUID().uuidString)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return PassphraseSource(file: file, environmentVariable: "UNUSED", subject: "chair")
    }

    @Test("reveal, back up, restore into a new folder, reveal again: the same bytes; the restore is recorded, signed, and the log verifies")
    func roundTrip() throws {
        let f = try Self.closedRound()
        let before = try Self.reveals(f.vault, f)
        let path = f.dir.path + "/vault.evbackup"
        let b = try f.vault.backup(to: path, overwrite: false, actor: try f.actor("chair"))
        #expect(b.size == f.vault.log.size && b.checkpoint.checkpoint.size == b.size && Files.mode(path) == 0o600)
        #expect(b.files == 3)  // Keys/chair.key, Keys/chair.pub, Policies/default.policy
        // Like the folder, the backup holds no passphrase and no identity in the clear (invariant 1).
        let backupBytes = try Files.read(path, what: "backup")
        for secret in ["pw-chair", "pw-ev-1", "Chair Identity Zeta", "Identity of ev-1 Quetzal"] {
            #expect(!backupBytes.contains(bytes: Array(secret.utf8)), "\(secret)")
        }
        #expect(throws: VaultError.usage("\(path) already exists; refusing to overwrite it (--force replaces it)")) {
            try f.vault.backup(to: path, overwrite: false, actor: try f.actor("chair"))
        }

        // A second machine (its own state folder) and the chair's own client both restore it.
        let other = ClientState(directory: f.dir.path + "/state-new-machine")
        let elsewhere = VaultLocation(directory: f.dir.path + "/elsewhere")
        let (_, fresh) = try Vault.restore(from: path, into: elsewhere, as: PrincipalID("chair"), keyPath: nil, passphrase: try passphrase(f), state: other)
        #expect(fresh.newlyPinned != nil)

        let location = VaultLocation(directory: f.dir.path + "/restored")
        let bytesBefore = try Files.read(path, what: "backup")
        // The chair's client saw the failed overwrite above, one entry past the backup: a rollback.
        let e = #expect(throws: VaultError.self) {
            try Vault.restore(from: path, into: location, as: PrincipalID("chair"), keyPath: nil, passphrase: try passphrase(f), state: f.state)
        }
        #expect(e?.message.contains("this backup holds \(b.size) entries of vault \(f.vault.id)'s log, but this client has seen \(b.size + 1): restoring it would roll the vault back") == true, "\(e?.message ?? "")")
        #expect(!Files.exists(location.directory))

        // From a backup taken last, the chair's own client restores.
        let latest = f.dir.path + "/latest.evbackup"
        let b2 = try f.vault.backup(to: latest, overwrite: false, actor: try f.actor("chair"))
        let (restored, r) = try Vault.restore(from: latest, into: location, as: PrincipalID("chair"), keyPath: nil, passphrase: try passphrase(f), state: f.state)
        #expect(r.backupSize == b2.size && r.newlyPinned == nil && r.files == 3 && r.sha256 == b2.sha256)
        #expect(Files.mode(location.keysDirectory + "/chair.key") == 0o600 && Files.mode(location.databasePath) == 0o600)
        #expect(try Self.reveals(restored, f) == before)
        #expect(try Files.read(path, what: "backup") == bytesBefore, "restore never changes the backup")

        // The restore is the next entry, signed by the chair, and the whole log exports and verifies.
        let chair = try f.actor("chair", in: restored)
        let prepared = try restored.prepareAuditExport(actor: chair, format: .jsonl)
        var export: [UInt8] = []
        try restored.writeAuditExport(format: .jsonl, checkpoint: prepared.checkpoint, chairKey: chair.chairKey) { export += $0 }
        let exportPath = f.dir.path + "/audit.jsonl"
        try Data(export).write(to: URL(fileURLWithPath: exportPath))
        #expect(try AuditVerifier.verify(path: exportPath).vaultID == f.vault.id)
        let entry = try #require(lines(export).dropFirst().first { String(decoding: $0, as: UTF8.self).contains("\"action\":\"vault.restore\"") })
        let v = try JSONParser.parse(entry)
        #expect(v["entry"]?["seq"]?.integerValue == Int64(b2.size) && v["sig"]?.stringValue != nil)
        #expect(v["entry"]?["details"]?["backup_sha256"]?.stringValue == b2.sha256)
        // The backup tables are gone from the restored vault.db.
        #expect(throws: VaultError.self) { try restored.database.prepare("SELECT 1 FROM backup_meta") }

        // The old folder is now the past of a vault this client has seen further: refused.
        #expect(throws: VaultError.self) { try Vault.open(at: f.location, state: f.state) }
    }

    @Test("the vault a stale backup gives is refused by every client that saw more (design: invariant 12)")
    func staleBackupIsRolledBack() throws {
        let f = try Self.closedRound()
        let path = f.dir.path + "/vault.evbackup"
        _ = try f.vault.backup(to: path, overwrite: false, actor: try f.actor("chair"))
        _ = try f.vault.checkpointNow(actor: try f.actor("chair"))
        // An evaluator's client reads the vault after the backup.
        _ = try f.open(as: "ev-1")
        // On a new machine with no state, the chair can restore it (there is nothing to compare with) ...
        let location = VaultLocation(directory: f.dir.path + "/restored")
        _ = try Vault.restore(from: path, into: location, as: PrincipalID("chair"), keyPath: nil, passphrase: try passphrase(f),
                              state: ClientState(directory: f.dir.path + "/state-new-machine"))
        // ... but the evaluator's client, which saw more, refuses the restored vault, naming both sizes.
        let e = #expect(throws: VaultError.self) { try Vault.open(at: location, state: ClientState(directory: f.dir.path + "/state-ev-1")) }
        #expect(e?.exitStatus == .dataError && e?.message.contains("integrity") == true, "\(e?.message ?? "")")
    }

    @Test("only the chair backs up and restores; a wrong passphrase or a denial leaves no folder behind")
    func refusals() throws {
        let f = try Self.closedRound()
        let path = f.dir.path + "/vault.evbackup"
        let denied = #expect(throws: VaultError.self) { try f.vault.backup(to: path, overwrite: false, actor: try f.actor("au-1")) }
        #expect(denied?.exitStatus == .noPermission && !Files.exists(path))
        _ = try f.vault.backup(to: path, overwrite: false, actor: try f.actor("chair"))
        let location = VaultLocation(directory: f.dir.path + "/restored")
        let state = ClientState(directory: f.dir.path + "/state-other")
        let wrong = #expect(throws: VaultError.self) {
            try Vault.restore(from: path, into: location, as: PrincipalID("chair"), keyPath: nil, passphrase: try passphrase(f, "nope"), state: state)
        }
        #expect(wrong?.exitStatus == .noPermission && wrong?.message.contains("authentication failed") == true && !Files.exists(location.directory))
        let auditor = #expect(throws: VaultError.self) {
            try Vault.restore(from: path, into: location, as: PrincipalID("au-1"), keyPath: f.keyPath("au-1"),
                              passphrase: PassphraseSource(file: nil, environmentVariable: "EVALVAULT_TEST_UNSET_\(UUID().uuidString.prefix(8))", subject: "au-1"),
                              state: state)
        }
        #expect(auditor != nil && !Files.exists(location.directory))
        // Never over a vault, nor into a folder that holds anything.
        try FileManager.default.createDirectory(atPath: location.directory, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: location.directory + "/notes.txt"))
        #expect(throws: VaultError.usage("\(location.directory) is not empty; restore into a new or empty folder")) {
            try Vault.restore(from: path, into: location, as: PrincipalID("chair"), keyPath: nil, passphrase: try passphrase(f), state: state)
        }
        #expect(throws: VaultError.usage("a vault already exists at \(f.location.directory); restore never overwrites one: give --dir a new folder")) {
            try Vault.restore(from: path, into: f.location, as: PrincipalID("chair"), keyPath: nil, passphrase: try passphrase(f), state: state)
        }
        // An empty folder is fine, and stays after a failed restore.
        let empty = VaultLocation(directory: f.dir.path + "/empty")
        try FileManager.default.createDirectory(atPath: empty.directory, withIntermediateDirectories: true)
        #expect(throws: VaultError.self) {
            try Vault.restore(from: path, into: empty, as: PrincipalID("chair"), keyPath: nil, passphrase: try passphrase(f, "nope"), state: state)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: empty.directory).isEmpty)
        _ = try Vault.restore(from: path, into: empty, as: PrincipalID("chair"), keyPath: nil, passphrase: try passphrase(f), state: state)
    }

    /// A copy of the backup at `path`, changed with SQL (triggers dropped first).
    func changed(_ path: String, _ f: RoundFixture, _ sql: String) throws -> String {
        let copy = f.dir.path + "/changed-\(UUID().uuidString).evbackup"
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let db = try Database(plainFile: copy, writable: true)
        try db.execute("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; " + sql)
        return copy
    }

    @Test("a changed backup is refused before anything is written: its log, its checkpoint, its files, its pages")
    func changedBackups() throws {
        let f = try Self.closedRound()
        let path = f.dir.path + "/vault.evbackup"
        let b = try f.vault.backup(to: path, overwrite: false, actor: try f.actor("chair"))
        let forged = try Checkpoint(vaultID: f.vault.id, size: b.size, root: b.checkpoint.checkpoint.root)
            .signedNote(name: "chair", key: Curve25519.Signing.PrivateKey())
        let cases: [(String, String)] = [
            ("UPDATE audit_log SET entry = CAST(replace(CAST(entry AS TEXT), '\"round.close\"', '\"round.clos3\"') AS BLOB) WHERE CAST(entry AS TEXT) LIKE '%\"round.close\"%'",
             "does not match its leaf hash"),
            ("DELETE FROM audit_log WHERE seq >= \(b.size - 2)", "fewer than its checkpoint's \(b.size) (truncated?)"),
            ("UPDATE backup_meta SET value = '\(forged.replacingOccurrences(of: "'", with: "''"))' WHERE key = 'checkpoint'",
             "carries a checkpoint not signed by the vault's chair chair"),
            ("INSERT INTO backup_files VALUES ('Keys/../../evil.key', 384, x'00')", "carries a file it may not: Keys/../../evil.key"),
            ("INSERT INTO backup_files VALUES ('vault.db', 384, x'00')", "carries a file it may not: vault.db"),
            ("UPDATE backup_meta SET value = 'evalvault-backup/9' WHERE key = 'format'", "is not an evalvault-backup/1 file"),
            ("DROP TABLE backup_meta", "is not an evalvault backup"),
        ]
        let state = ClientState(directory: f.dir.path + "/state-other")
        for (sql, message) in cases {
            let copy = try changed(path, f, sql)
            let location = VaultLocation(directory: f.dir.path + "/restored")
            let e = #expect(throws: VaultError.self, "\(sql)") {
                try Vault.restore(from: copy, into: location, as: PrincipalID("chair"), keyPath: nil, passphrase: try passphrase(f), state: state)
            }
            #expect(e?.exitStatus == .dataError && e?.message.contains(message) == true, "\(sql): \(e?.message ?? "")")
            #expect(!Files.exists(location.directory), "\(sql): the folder was left behind")
        }
        // A truncated file and a file that is no database at all.
        for (name, bytes) in [("truncated", Array(try Files.read(path, what: "backup").prefix(20_000))), ("garbage", Array("not a backup".utf8))] {
            let p = f.dir.path + "/\(name).evbackup"
            try Data(bytes).write(to: URL(fileURLWithPath: p))
            let location = VaultLocation(directory: f.dir.path + "/restored")
            let e = #expect(throws: VaultError.self) {
                try Vault.restore(from: p, into: location, as: PrincipalID("chair"), keyPath: nil, passphrase: try passphrase(f), state: state)
            }
            #expect(e?.message.hasPrefix("integrity check failed: the backup \(p)") == true, "\(name): \(e?.message ?? "")")
            #expect(!Files.exists(location.directory))
        }
    }

    @Test("a damaged vault.db says to restore from a backup, and how")
    func corruptAdvice() throws {
        let f = try Self.closedRound()
        for size in [0, 4096, 20_000] {
            let copy = VaultLocation(directory: f.dir.path + "/damaged-\(size)")
            try FileManager.default.copyItem(atPath: f.location.directory, toPath: copy.directory)
            try? FileManager.default.removeItem(atPath: copy.databasePath + "-wal")
            try? FileManager.default.removeItem(atPath: copy.databasePath + "-shm")
            #expect(truncate(copy.databasePath, off_t(size)) == 0)
            let e = #expect(throws: VaultError.self) { try Vault.open(at: copy, state: ClientState(directory: f.dir.path + "/state-\(size)")) }
            #expect(e?.exitStatus == .dataError, "\(size)")
            #expect(e?.message.contains("restore the vault from a backup into a new folder: evalvault restore BACKUP --dir NEW-FOLDER --as CHAIR") == true,
                    "\(size): \(e?.message ?? "")")
        }
    }
}
