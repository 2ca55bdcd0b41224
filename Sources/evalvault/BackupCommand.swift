import ArgumentParser
import VaultCore

/// `backup --out FILE` (design: Backup and restore).
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a verified backup of the vault to a file (chair), while it stays in use.",
        discussion: """
            The backup is one file: a consistent copy of vault.db (SQLite's online backup API), the key files of Keys/ (still protected by their passphrases) and the policy files, with a checkpoint of the audit log that the chair signs as the backup is taken. It is read back and checked before it is put in place, and never replaces an existing file unless --force. Keep it as you keep the vault folder.

            A backup is as fresh as the log it holds: a client that has since seen more of the log refuses a vault restored from it, as a rollback (see `evalvault restore --help`). Take one after every change that matters: enrolment, each round's opening, imports, close and reveals.

            Example:
              evalvault backup --as chair --out /media/usb/vault-2025-11-30.evbackup
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("The backup file to write.", valueName: "file")) var out: String
    @OptionGroup var output: ForceOption

    func validate() throws {
        guard out != "-" else { throw ValidationError("--out takes a file: a backup is a SQLite database, not a stream") }
    }

    func run() throws {
        try Output.checkWritable(out, force: output.force)  // before the passphrase, the entry and the checkpoint
        let (vault, actor) = try global.authenticate(action: "vault.backup", target: "vault")
        let b = try vault.backup(to: out, overwrite: output.force, actor: actor)
        if global.json {
            Output.json(.object(["file": .string(out), "vault": .string(b.vaultID), "entries": .integer(Int64(b.size)), "files": .integer(Int64(b.files)),
                                 "bytes": .integer(Int64(b.bytes)), "sha256": .string(b.sha256)]))
        } else {
            Output.line("wrote the backup of vault \(b.vaultID) to \(out): \(b.size) log entries, checkpoint at \(b.checkpoint.checkpoint.size) signed by the chair, \(b.files) key and policy files, \(b.bytes) bytes")
            Output.line("sha256 \(b.sha256)")
            Output.line("restore it with: evalvault restore \(out) --dir NEW-FOLDER --as \(actor.id)")
        }
    }
}

/// `restore FILE --dir DIR` (design: Backup and restore).
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a vault from a backup file into a new folder (chair).",
        discussion: """
            The backup is copied into DIR, which must be a new or empty folder (a restore never overwrites a vault), and checked there: SQLite's integrity check, the audit log against the checkpoint the chair signed when the backup was taken, the key and policy files. The vault is then opened as any vault is — every entry of the log verified — and the restore is recorded in its log, signed by the chair, with a new checkpoint. If anything fails, DIR is left as it was.

            A backup older than what a client has seen is a rollback, and clients refuse it (exit 65, "rolled back"): restore refuses it too, for your own client. Restore the newest backup. If even that is older than what people have seen, the entries after it are lost: anything sealed, imported or revealed since must be done again, and each person who accepts the restored vault must first move that vault's file out of their state folder ($EVALVAULT_STATE/vaults/VAULT-ID.state, else under ~/.local/state/evalvault) and compare the chair's fingerprint again. The chair's earlier checkpoints then no longer match the log: that is the record of the rollback.

            Example:
              evalvault restore /media/usb/vault-2025-11-30.evbackup \\
                  --dir ./vault-restored --as chair
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("The backup file.", valueName: "file")) var file: String

    func validate() throws {
        guard global.dir != nil else { throw ValidationError("give --dir NEW-FOLDER: the folder to restore the vault into (new or empty)") }
    }

    func run() throws {
        let id = try global.actorID()
        let (vault, r) = try Vault.restore(from: file, into: global.location, as: id, keyPath: global.key,
                                           passphrase: global.passphrase(subject: id.rawValue))
        if let fp = r.newlyPinned {
            Output.warning("pinned the chair's key for vault \(vault.id): fingerprint \(fp); compare it with the chair's by voice")
        }
        if global.json {
            Output.json(.object(["dir": .string(vault.location.directory), "vault": .string(r.vaultID), "entries": .integer(Int64(r.backupSize)),
                                 "checkpoint": .integer(Int64(r.checkpoint.checkpoint.size)), "files": .integer(Int64(r.files)),
                                 "sha256": .string(r.sha256)]))
        } else {
            Output.line("restored vault \(r.vaultID) into \(vault.location.directory): \(r.backupSize) log entries from the backup, every one verified, and \(r.files) key and policy files")
            Output.line("recorded the restore; checkpoint at \(r.checkpoint.checkpoint.size) entries signed by the chair")
        }
    }
}
