import Foundation
import VaultCrypto
#if canImport(Glibc)
import Glibc
#endif

/// `backup --out FILE` and `restore FILE --dir DIR` (design: Backup and restore).
///
/// A backup file is a SQLite database: a consistent copy of vault.db made with SQLite's online
/// backup API while the vault stays in use, plus two tables of its own — `backup_meta` (format,
/// vault id, time, and a checkpoint the chair signed as the backup was taken) and
/// `backup_files` (the vault folder's `Keys/` and `Policies/` files, as they are: key files stay
/// protected by their passphrases). It is one self-contained file (no WAL), mode 0600.
///
/// Why a signed checkpoint: the vault folder is untrusted storage, and so is a backup of it. The
/// checkpoint binds the file to the log as the chair saw it, so `restore` checks the copy
/// against the chair's signature before writing anything, and the restored vault is then opened
/// like any vault: every entry replayed and verified, and — the point of the client state
/// folder — refused by every client that has seen a longer log. Restoring a backup older than
/// what clients have seen is a rollback, and they refuse it (design: invariant 12); `restore`
/// refuses it first, for the chair's own client, saying what to do.
public enum VaultBackup {
    public static let formatName = "evalvault-backup/1"
    /// The largest `Keys/` or `Policies/` file a backup carries (key files take under 1 KiB).
    static let maxFolderFile = 1 << 20

    /// What `backup` wrote.
    public struct Summary: Sendable {
        public let vaultID: String
        /// Entries of the log in the backup, and the chair-signed checkpoint taken with it.
        public let size: Int
        public let checkpoint: Checkpoint.Note
        /// Files of Keys/ and Policies/ carried.
        public let files: Int
        public let bytes: Int
        /// Hex SHA-256 of the backup file, recorded by `restore` in its audit entry.
        public let sha256: String
    }

    /// What `restore` did.
    public struct Restored: Sendable {
        public let vaultID: String
        /// Entries of the log the backup held; the restore's own entry comes after them.
        public let backupSize: Int
        public let checkpoint: Checkpoint.Note
        public let files: Int
        /// Set when this client pinned the chair's key now (first time it sees this vault).
        public let newlyPinned: Fingerprint?
        /// Hex SHA-256 of the backup file, as the restore's audit entry records it.
        public let sha256: String
    }

    /// One file of the vault folder, by its path relative to the folder.
    struct FolderFile {
        let path: String
        let mode: Int
        let body: [UInt8]
    }

    /// A backup file read and checked.
    struct Contents {
        let vaultID: String
        let checkpoint: Checkpoint.Note
        let size: Int
        let chair: String
        let chairKey: Curve25519.Signing.PublicKey
        let files: [FolderFile]
    }

    /// What a corrupt vault's error says to do.
    public static func advice(for location: VaultLocation) -> String {
        "restore the vault from a backup into a new folder: evalvault restore BACKUP --dir NEW-FOLDER --as CHAIR (evalvault restore --help); keep \(location.directory) as it is until then"
    }

    /// Folder files may only be `Keys/<name>.key`, `Keys/<name>.pub` or `Policies/<name>`, with
    /// a plain name: a backup from anyone can never write outside the new folder.
    static func isFolderPath(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, ["Keys", "Policies"].contains(parts[0]) else { return false }
        let name = parts[1].utf8
        guard (1...128).contains(name.count), let first = name.first, first != UInt8(ascii: "."),
              name.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || [45, 46, 95].contains($0) }) else {
            return false
        }
        return parts[0] == "Policies" || parts[1].hasSuffix(".key") || parts[1].hasSuffix(".pub")
    }

    /// The vault folder's files a backup carries: `Keys/*.key`, `Keys/*.pub`, `Policies/*`.
    static func folderFiles(of location: VaultLocation) throws -> [FolderFile] {
        var out: [FolderFile] = []
        for sub in ["Keys", "Policies"] {
            let dir = location.directory + "/" + sub
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for name in names.sorted() where isFolderPath(sub + "/" + name) {
                let path = dir + "/" + name
                var st = stat()
                guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                out.append(FolderFile(path: sub + "/" + name, mode: Int(st.st_mode & 0o777),
                                      body: try Files.read(path, what: "vault file", limit: maxFolderFile)))
            }
        }
        return out
    }

    /// Writes the backup tables into `db` (the fresh copy of vault.db).
    static func writeTables(_ db: Database, vaultID: String, checkpoint: Checkpoint.Note, files: [FolderFile]) throws {
        try db.transaction {
            try db.execute("""
                CREATE TABLE backup_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
                CREATE TABLE backup_files (path TEXT PRIMARY KEY, mode INTEGER NOT NULL, body BLOB NOT NULL) STRICT;
                """)
            let meta = try db.prepare("INSERT INTO backup_meta (key, value) VALUES (?, ?)")
            for (k, v) in [("format", formatName), ("vault_id", vaultID), ("created_at", Timestamp.now()), ("checkpoint", checkpoint.text)] {
                try meta.bind(k, v).run()
            }
            let file = try db.prepare("INSERT INTO backup_files (path, mode, body) VALUES (?, ?, ?)")
            for f in files { try file.bind(f.path, f.mode, f.body).run() }
        }
    }

    /// Reads and checks a backup file: SQLite's integrity check; the format; the log's leaves
    /// against the chair-signed checkpoint (the log may have grown past it while the copy was
    /// made, never shrunk); the checkpoint's signature by the chair the log's first entry
    /// enrols; and the folder files' paths. Every entry's signature is checked later, when the
    /// restored vault is opened.
    static func read(path: String, name: String? = nil) throws -> Contents {
        let name = name ?? Files.displayName(path)
        func bad(_ why: String) -> VaultError { .integrity("the backup \(name) \(why)") }
        /// SQLite's complaint, without our own "integrity check failed:" prefix.
        func detail(_ error: any Error) -> String {
            guard let e = error as? VaultError else { return "unreadable" }
            if case .integrity(let m) = e { return m }
            return e.message
        }
        let db: Database
        do { db = try Database(plainFile: path) } catch let e as VaultError where e.exitStatus != .noInput {
            throw bad("cannot be opened (\(e.message))")
        }
        let problem: String?
        do { problem = try db.integrityProblem() } catch { throw bad("is not an evalvault backup, or is damaged (\(detail(error)))") }
        if let problem { throw bad("is damaged (SQLite: \(problem))") }
        var meta: [String: String] = [:]
        do {
            let s = try db.prepare("SELECT key, value FROM backup_meta")
            while try s.step() { meta[s.text(0)] = s.text(1) }
        } catch {
            throw bad("is not an evalvault backup (no backup_meta table)")
        }
        guard meta["format"] == formatName else { throw bad("is not an \(formatName) file") }
        guard let vaultID = meta["vault_id"], vaultID.utf8.count == 32,
              vaultID.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { throw bad("has no valid vault id") }
        let inner = try db.prepare("SELECT value FROM vault_meta WHERE key = 'vault_id'")
        guard try inner.step(), inner.text(0) == vaultID else { throw bad("holds another vault than it says") }
        guard let noteText = meta["checkpoint"] else { throw bad("carries no checkpoint") }
        let note = try Checkpoint.parse(note: noteText)
        guard note.checkpoint.origin == "evalvault/\(vaultID)" else { throw bad("carries another vault's checkpoint") }

        // The log: contiguous, each leaf the hash of its entry, the first `size` giving the root.
        let s = try db.prepare("SELECT seq, entry, leaf_hash FROM audit_log ORDER BY seq")
        var leaves: [[UInt8]] = []
        var first: JSONValue?
        while try s.step() {
            guard s.int(0) == leaves.count else { throw bad("is missing audit entry \(leaves.count)") }
            let leaf = s.withBytes(1) { Merkle.leafHash(Array($0)) }
            guard leaf == s.blob(2) else { throw bad("has audit entry \(leaves.count) changed (it does not match its leaf hash)") }
            if leaves.isEmpty { first = try? JSONParser.parse(s.blob(1), allowWhitespace: false, integersOnly: true) }
            leaves.append(leaf)
        }
        let size = note.checkpoint.size
        guard leaves.count >= size else { throw bad("holds \(leaves.count) audit entries, fewer than its checkpoint's \(size) (truncated?)") }
        guard Merkle.root(ofLeafHashes: leaves[..<size]) == note.checkpoint.root else {
            throw bad("holds an audit log that does not match its checkpoint")
        }
        guard let first, first["action"]?.stringValue == "vault.init", let chair = first["actor"]?.stringValue,
              let raw = first["details"]?["enrolled"]?["ed25519"]?.stringValue.flatMap(Base64.decode),
              let chairKey = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { throw bad("has no vault creation entry") }
        guard note.isSigned(by: chair, key: chairKey) else { throw bad("carries a checkpoint not signed by the vault's chair \(chair)") }

        var files: [FolderFile] = []
        let f = try db.prepare("SELECT path, mode, body FROM backup_files ORDER BY path")
        while try f.step() {
            let p = f.text(0), mode = f.int(1), body = f.blob(2)
            guard isFolderPath(p), (0...0o777).contains(mode), body.count <= maxFolderFile else { throw bad("carries a file it may not: \(p.prefix(80))") }
            files.append(FolderFile(path: p, mode: mode, body: body))
        }
        return Contents(vaultID: vaultID, checkpoint: note, size: leaves.count, chair: chair, chairKey: chairKey, files: files)
    }

    /// Creates an empty file readable by its owner only, for SQLite to fill: a backup and a
    /// restored vault.db are never readable by others, not even while they are written.
    static func createPrivate(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw VaultError.usage("\(path) already exists; refusing to overwrite it") }
            throw VaultError.permission("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        close(fd)
    }

    /// The SHA-256 of a file, read in 1 MiB pieces.
    static func sha256(ofFile path: String) throws -> (hex: String, bytes: Int) {
        let fd = try Files.openForReading(path, what: "backup")
        defer { close(fd) }
        var hasher = SHA256.Hasher()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var total = 0
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw VaultError.permission("cannot read \(path)") }
            if n == 0 { break }
            hasher.update(data: chunk[0..<n])
            total += n
        }
        return (Hex.encode(hasher.finalize()), total)
    }
}

extension Vault {
    /// `backup --out FILE` (chair): records the backup and signs a checkpoint in one transaction,
    /// copies vault.db with SQLite's online backup API and the folder's key and policy files into
    /// a temporary file beside FILE, checks that copy as `restore` would, and only then puts it
    /// in place — never over an existing file unless `overwrite`.
    public func backup(to path: String, overwrite: Bool, actor: Actor) throws -> VaultBackup.Summary {
        let target = "vault/\(id)"
        let decision = try authorize(PolicyRequest(principal: Self.attributes(of: actor.principal), action: "vault.backup"),
                                     actor: actor, target: target)
        func failed(_ error: VaultError) throws -> Never {
            try recordAttempt(AuditRecord(actor: actor, action: "vault.backup", target: target, decision: decision, outcome: .failed,
                                          details: ["exit_status": .integer(Int64(error.exitStatus.rawValue))]), signer: actor.keys.signing)
            throw error
        }
        // The backup is checked against a checkpoint, which only the chair signs.
        guard actor.principal.role == .chair else {
            try failed(.permission("only the chair takes backups (they carry a checkpoint the chair signs); \(actor.id) is \(actor.principal.role.rawValue)"))
        }
        if !overwrite && Files.exists(path) { try failed(.usage("\(path) already exists; refusing to overwrite it (--force replaces it)")) }
        let files: [VaultBackup.FolderFile]
        do { files = try VaultBackup.folderFiles(of: location) } catch let e as VaultError { try failed(e) }

        let note = try write {
            try appendAudit(AuditRecord(actor: actor, action: "vault.backup", target: target, decision: decision,
                                        details: ["files": .integer(Int64(files.count))]), signer: actor.keys.signing)
            return try signCheckpoint(chair: actor.id, key: actor.keys.signing)
        }

        // The file is written under a temporary name beside FILE (mode 0600 from creation, as
        // every atomic write is) and linked or renamed into place only once it reads back.
        let writer: Files.AtomicWriter
        do { writer = try Files.AtomicWriter(path: path, mode: 0o600) } catch let e as VaultError { try failed(e) }
        defer { unlink(writer.tmp + "-journal") }
        do {
            do {
                let copy = try Database(plainFile: writer.tmp, writable: true)
                try database.copy(into: copy)
                try copy.execute("PRAGMA journal_mode = DELETE")  // one self-contained file, no WAL
                try VaultBackup.writeTables(copy, vaultID: id, checkpoint: note, files: files)
            }
            // Verified after writing, as restore will read it.
            let check = try VaultBackup.read(path: writer.tmp)
            guard check.vaultID == id, check.checkpoint.text == note.text, check.chairKey == (try chairKey), check.files.count == files.count else {
                throw VaultError.internalError("the backup written to \(writer.tmp) does not read back as this vault's")
            }
            let digest = try VaultBackup.sha256(ofFile: writer.tmp)
            do { try writer.commit(overwrite: overwrite) } catch VaultError.usage {
                throw VaultError.usage("\(path) already exists; refusing to overwrite it (--force replaces it)")
            }
            return VaultBackup.Summary(vaultID: id, size: check.size, checkpoint: note, files: files.count, bytes: digest.bytes, sha256: digest.hex)
        } catch let e as VaultError {
            try failed(e)
        }
    }

    /// `restore FILE --dir DIR`: copies the backup into DIR — a new or empty folder: a restore
    /// never overwrites a vault — and checks that copy (see `VaultBackup.read`; the copy, so the
    /// file cannot change between the check and its use), and that this client has not seen more
    /// of the vault's log than it holds; puts back the key and policy files; opens the vault as
    /// any vault is opened (every entry verified, the log checked against this client's state);
    /// and records the restore there, signed by `pid` (the chair, per policy), with a fresh
    /// checkpoint. If anything fails, the folder is left as it was.
    public static func restore(from backupPath: String, into location: VaultLocation, as pid: PrincipalID, keyPath: String?,
                               passphrase: PassphraseSource, state client: ClientState = .resolve()) throws -> (Vault, VaultBackup.Restored) {
        guard backupPath != Files.standardInput else {
            throw VaultError.usage("restore reads a backup file (a SQLite database needs a file, not standard input)")
        }
        let dir = location.directory
        var isDir: ObjCBool = false
        let existed = FileManager.default.fileExists(atPath: dir, isDirectory: &isDir)
        if existed {
            guard isDir.boolValue else { throw VaultError.usage("\(dir) is a file; restore into a new folder") }
            if Files.exists(location.databasePath) {
                throw VaultError.usage("a vault already exists at \(dir); restore never overwrites one: give --dir a new folder")
            }
            guard (try? FileManager.default.contentsOfDirectory(atPath: dir))?.isEmpty == true else {
                throw VaultError.usage("\(dir) is not empty; restore into a new or empty folder")
            }
        }
        guard Files.exists(backupPath) else { throw VaultError.notFound("backup \(backupPath) does not exist") }
        let digest = try VaultBackup.sha256(ofFile: backupPath)

        var created: [String] = []
        var knownBefore: (snapshot: [UInt8]?, vaultID: String)?
        do {
            if !existed { created.append(dir) }
            try Files.makeDirectory(dir, mode: 0o700)
            try Files.makeDirectory(location.keysDirectory, mode: 0o700)
            try Files.makeDirectory(location.policiesDirectory, mode: 0o755)
            created += [location.keysDirectory, location.policiesDirectory]
            created += [location.databasePath, location.databasePath + "-wal", location.databasePath + "-shm", location.databasePath + "-journal"]
            do {
                let source: Database
                do { source = try Database(plainFile: backupPath) } catch let e as VaultError where e.exitStatus != .noInput {
                    throw VaultError.integrity("the backup \(backupPath) cannot be opened (\(e.message))")
                }
                try VaultBackup.createPrivate(location.databasePath)
                let copy = try Database(plainFile: location.databasePath, writable: true)
                do { try source.copy(into: copy) } catch is VaultError {
                    throw VaultError.integrity("the backup \(backupPath) is damaged, or not an evalvault backup: SQLite cannot copy it; nothing was restored")
                }
            }
            // Checked in the copy, in a folder only we can write.
            let contents = try VaultBackup.read(path: location.databasePath, name: backupPath)
            if let known = try client.load(vaultID: contents.vaultID) {
                guard known.chairKey == contents.chairKey else {
                    throw VaultError.integrity("the backup's chair key is not the one this client pinned for vault \(contents.vaultID); do not restore it")
                }
                guard known.size <= contents.size else {
                    throw VaultError.integrity("this backup holds \(contents.size) entries of vault \(contents.vaultID)'s log, but this client has seen \(known.size): restoring it would roll the vault back, and every client that saw more refuses that. Restore a newer backup; if there is none, the entries after it are lost (see evalvault restore --help)")
                }
            }
            // What this client knows of the vault, put back if the restore fails: the entries a
            // failed restore records (a wrong passphrase, a denial) go with the folder.
            knownBefore = (try client.stateSnapshot(vaultID: contents.vaultID), contents.vaultID)
            for f in contents.files {
                let path = dir + "/" + f.path
                created.append(path)
                // Modes as a vault makes them, whatever the backup says: private keys 0600.
                let mode: mode_t = f.path.hasSuffix(".key") ? 0o600 : 0o644
                try Files.writeAtomically(f.body, to: path, mode: mode, overwrite: false)
            }
            do {
                let copy = try Database(plainFile: location.databasePath, writable: true)
                try copy.execute("PRAGMA secure_delete = ON; DROP TABLE backup_files; DROP TABLE backup_meta;")
            }
            let vault = try Vault.open(at: location, state: client)
            guard vault.id == contents.vaultID, vault.log.chairKey == contents.chairKey else {
                throw VaultError.integrity("the restored vault is not the one the backup's checkpoint was signed for")
            }
            let target = "vault/\(vault.id)"
            let actor = try vault.authenticate(pid, keyPath: keyPath, passphrase: passphrase, action: "vault.restore", target: target)
            let decision = try vault.authorize(PolicyRequest(principal: Self.attributes(of: actor.principal), action: "vault.restore"),
                                               actor: actor, target: target)
            guard actor.principal.role == .chair else {
                throw VaultError.permission("only the chair restores a vault (it signs a checkpoint); \(actor.id) is \(actor.principal.role.rawValue)")
            }
            let note = try vault.write {
                try vault.appendAudit(AuditRecord(actor: actor, action: "vault.restore", target: target, decision: decision, details: [
                    "backup_size": .integer(Int64(contents.size)), "backup_checkpoint_size": .integer(Int64(contents.checkpoint.checkpoint.size)),
                    "backup_root": .string(Base64.encode(contents.checkpoint.checkpoint.root)), "backup_sha256": .string(digest.hex),
                    "files": .integer(Int64(contents.files.count)),
                ]), signer: actor.keys.signing)
                return try vault.signCheckpoint(chair: actor.id, key: actor.keys.signing)
            }
            return (vault, VaultBackup.Restored(vaultID: vault.id, backupSize: contents.size, checkpoint: note, files: contents.files.count,
                                                newlyPinned: vault.newlyPinned, sha256: digest.hex))
        } catch {
            for p in created.reversed() { try? FileManager.default.removeItem(atPath: p) }
            if let knownBefore { client.putBack(knownBefore.snapshot, vaultID: knownBefore.vaultID) }
            throw error
        }
    }
}

extension ClientState {
    /// The bytes of this client's state file for a vault, nil when it has none.
    func stateSnapshot(vaultID: String) throws -> [UInt8]? {
        let file = vaultFile(vaultID)
        return Files.exists(file) ? try Files.read(file, what: "client state file") : nil
    }

    /// Puts a state file back as `stateSnapshot` found it (removes it when there was none).
    func putBack(_ snapshot: [UInt8]?, vaultID: String) {
        let file = vaultFile(vaultID)
        if let snapshot {
            try? Files.writeAtomically(snapshot, to: file, mode: 0o600, overwrite: true)
        } else {
            unlink(file)
        }
    }
}
