import ArgumentParser
import VaultCore

/// The options every command takes (design: Command line).
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The vault folder (default: $EVALVAULT_DIR, else ./vault).", valueName: "dir"), completion: .directory)
    var dir: String?

    @Option(name: .customLong("as"), help: ArgumentHelp("The acting principal's id.", valueName: "id"), completion: IDCompletion.principals)
    var actor: String?

    @Option(name: .long, help: ArgumentHelp("The acting principal's key file (default: DIR/Keys/<id>.key).", valueName: "path"),
            completion: .file(extensions: ["key"]))
    var key: String?

    @Option(name: .long, help: ArgumentHelp("Read the passphrase from this file, or - for standard input (else $EVALVAULT_PASSPHRASE, else a prompt).", valueName: "file"),
            completion: .file())
    var passphraseFile: String?

    @OptionGroup var output: OutputOptions

    /// `--json`: print the result as one JSON value.
    var json: Bool { output.json }

    var location: VaultLocation { .resolve(option: dir) }

    /// The `--as` id, required by commands that act as someone.
    func actorID() throws -> PrincipalID {
        guard let actor else { throw VaultError.usage("this command needs --as ID (the acting principal)") }
        return try PrincipalID(actor)
    }

    /// Opens the vault and authenticates `--as` with its key file and passphrase. Warns on
    /// stderr when this command pinned the chair's key for the first time.
    func authenticate(action: String, target: String) throws -> (Vault, Actor) {
        let id = try actorID()
        let vault = try openVault()
        let actor = try vault.authenticate(id, keyPath: key, passphrase: passphrase(subject: id.rawValue), action: action, target: target)
        return (vault, actor)
    }

    /// Opens the vault with this person's client state, checking the log against what it saw.
    /// Warns on stderr when this command pinned the chair's key for the first time: never
    /// silenced, since the fingerprint must be compared before the pin is worth anything.
    func openVault() throws -> Vault {
        let vault = try Vault.open(at: location)
        if let fp = vault.newlyPinned {
            Output.warning("pinned the chair's key for vault \(vault.id): fingerprint \(fp); compare it with the chair's by voice")
        }
        return vault
    }

    /// The passphrase source for the acting principal (or a new key's owner).
    func passphrase(subject: String) -> PassphraseSource {
        PassphraseSource(file: passphraseFile, environmentVariable: PassphraseSource.primaryVariable, subject: subject)
    }
}

/// `--json` and `--quiet` (design: Command line): part of the global options, and taken on their
/// own by the commands that need no vault (`approve`, `receipt verify`).
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the result as one JSON value on stdout.")
    var json = false

    @Flag(name: [.short, .long], help: "Print no success notices; results, warnings and errors still print.")
    var quiet = false
}

/// `--force`: the commands that write a file refuse an existing one without it (64).
struct ForceOption: ParsableArguments {
    @Flag(help: "Replace the output file if it exists (written atomically either way).")
    var force = false
}

/// Where `EvalVault.main()` finds a parsed command's `--json` and `--quiet`: in its
/// `GlobalOptions` or `OutputOptions`, however deep in option groups.
protocol OutputModeSource {
    var outputMode: Output.Mode { get }
}

extension OutputOptions: OutputModeSource {
    var outputMode: Output.Mode { Output.Mode(json: json, quiet: quiet) }
}

extension GlobalOptions: OutputModeSource {
    var outputMode: Output.Mode { output.outputMode }
}

/// An option group's parsed value, to look inside it without knowing its type.
protocol WrappedOptions {
    var wrapped: Any { get }
}

extension OptionGroup: WrappedOptions {
    var wrapped: Any { wrappedValue }
}

extension Output.Mode {
    /// The mode a parsed command asked for: the first `--json`/`--quiet` group among its stored
    /// properties and their option groups; the default for a command without one.
    init(of command: Any) {
        func find(_ value: Any) -> Output.Mode? {
            for child in Mirror(reflecting: value).children {
                if let group = child.value as? any WrappedOptions {
                    if let source = group.wrapped as? any OutputModeSource { return source.outputMode }
                    if let inner = find(group.wrapped) { return inner }
                }
            }
            return nil
        }
        self = find(command) ?? Output.Mode()
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
    @Option(name: .customLong("with"), help: ArgumentHelp("A co-holder of the round key (repeatable).", valueName: "id"), completion: IDCompletion.principals)
    var with: [String] = []
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
        // A key or passphrase file for someone not named with --with would be ignored, and the
        // refusal would then blame the threshold: say what is missing instead.
        for (option, list) in [("--with-key", withKeys), ("--with-passphrase-file", withPassphraseFiles)] {
            for id in try Self.pairs(list, option: option).keys.sorted() where !with.contains(id) {
                throw ValidationError("\(option) \(id)=…: \(id) is not named with --with; add --with \(id)")
            }
        }
    }

    /// Each co-holder authenticated with its key and passphrase. With `round` and `actor`, each
    /// must first be one of the round's reveal holders (refused, naming it, before any passphrase
    /// is asked).
    func authenticate(in vault: Vault, action: String = "reveal", target: String, round: String? = nil, actor: Actor? = nil) throws -> [Actor] {
        if let round, let actor, !with.isEmpty {
            try vault.requireRevealHolders(try with.map { try PrincipalID($0) }, round: round, actor: actor, action: action)
        }
        let files = try Self.pairs(withPassphraseFiles, option: "--with-passphrase-file")
        let keys = try Self.pairs(withKeys, option: "--with-key")
        return try with.map { id in
            try vault.authenticate(try PrincipalID(id), keyPath: keys[id],
                                   passphrase: .coHolder(id, file: files[id]),
                                   action: action, target: target)
        }
    }
}
