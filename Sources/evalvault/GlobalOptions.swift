import ArgumentParser
import VaultCore

/// The options every command takes (design: Command line).
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The vault folder (default: $EVALVAULT_DIR, else ./vault).", valueName: "dir"))
    var dir: String?

    @Option(name: .customLong("as"), help: ArgumentHelp("The acting principal's id.", valueName: "id"))
    var actor: String?

    @Option(name: .long, help: ArgumentHelp("The acting principal's key file (default: DIR/Keys/<id>.key).", valueName: "path"))
    var key: String?

    @Option(name: .long, help: ArgumentHelp("Read the passphrase from this file, or - for standard input (else $EVALVAULT_PASSPHRASE, else a prompt).", valueName: "file"))
    var passphraseFile: String?

    @Flag(name: .long, help: "Print machine-readable JSON on stdout.")
    var json = false

    var location: VaultLocation { .resolve(option: dir) }

    /// The `--as` id, required by commands that act as someone.
    func actorID() throws -> PrincipalID {
        guard let actor else { throw VaultError.usage("this command needs --as ID (the acting principal)") }
        return try PrincipalID(actor)
    }

    /// Opens the vault and authenticates `--as` with its key file and passphrase. Says so on
    /// stderr when this command pinned the chair's key for the first time.
    func authenticate(action: String, target: String) throws -> (Vault, Actor) {
        let id = try actorID()
        let vault = try openVault()
        let actor = try vault.authenticate(id, keyPath: key, passphrase: passphrase(subject: id.rawValue), action: action, target: target)
        return (vault, actor)
    }

    /// Opens the vault with this person's client state, checking the log against what it saw.
    /// Says so on stderr when this command pinned the chair's key for the first time.
    func openVault() throws -> Vault {
        let vault = try Vault.open(at: location)
        if let fp = vault.newlyPinned {
            Output.notice("pinned the chair's key for vault \(vault.id): fingerprint \(fp); compare it with the chair's by voice")
        }
        return vault
    }

    /// The passphrase source for the acting principal (or a new key's owner).
    func passphrase(subject: String) -> PassphraseSource {
        PassphraseSource(file: passphraseFile, environmentVariable: PassphraseSource.primaryVariable, subject: subject)
    }
}

/// `--kdf-cost LOG2N`, shared by the commands that create keys.
struct KDFOptions: ParsableArguments {
    @Option(name: .customLong("kdf-cost"), help: ArgumentHelp("scrypt cost as log2 N (10-20; default 17). Lower only for tests and demos.", valueName: "log2n"))
    var kdfCostOption: Int?


    /// The cost to use: the option, or design: Cryptography's default of 17.
    var kdfCost: Int { kdfCostOption ?? 17 }
    var isSet: Bool { kdfCostOption != nil }

    func validate() throws {
        guard (10...20).contains(kdfCost) else { throw ValidationError("--kdf-cost must be between 10 and 20") }
    }
}

/// The co-holders of a round key for a reveal (design: Command line): `--with ID`, each with a passphrase from
/// `--with-passphrase-file ID=FILE`, else `$EVALVAULT_PASSPHRASE_<ID>`, else a prompt, and a key
/// file from `--with-key ID=PATH`, else `DIR/Keys/ID.key`.
struct CoHolderOptions: ParsableArguments {
    @Option(name: .customLong("with"), help: "A co-holder of the round key (repeatable).") var with: [String] = []
    @Option(name: .customLong("with-passphrase-file"), help: "ID=FILE: a co-holder's passphrase file (repeatable).")
    var withPassphraseFiles: [String] = []
    @Option(name: .customLong("with-key"), help: "ID=PATH: a co-holder's key file (default DIR/Keys/ID.key).") var withKeys: [String] = []

    static func pairs(_ list: [String], option: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for item in list {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else { throw ValidationError("\(option) takes ID=PATH") }
            out[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return out
    }

    func validate() throws {
        _ = try Self.pairs(withPassphraseFiles, option: "--with-passphrase-file")
        _ = try Self.pairs(withKeys, option: "--with-key")
    }

    func authenticate(in vault: Vault, action: String = "reveal", target: String) throws -> [Actor] {
        let files = try Self.pairs(withPassphraseFiles, option: "--with-passphrase-file")
        let keys = try Self.pairs(withKeys, option: "--with-key")
        return try with.map { id in
            try vault.authenticate(try PrincipalID(id), keyPath: keys[id],
                                   passphrase: PassphraseSource(file: files[id], environmentVariable: PassphraseSource.variable(forCoHolder: id), subject: id),
                                   action: action, target: target)
        }
    }
}
