import ArgumentParser
import VaultCore
import VaultCrypto

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make a key pair: PATH.key (passphrase-protected, mode 0600) and PATH.pub.",
        discussion: """
            Each person makes their own key and hands only the .pub file to the chair. The passphrase comes from --passphrase-file, else $EVALVAULT_PASSPHRASE, else it is asked twice on the terminal. An existing key file is never overwritten (there is no --force: a private key overwritten is lost for good; move it away by hand).

            --change-passphrase PATH.key re-encrypts an existing key under a new passphrase (read from --new-passphrase-file, else $EVALVAULT_NEW_PASSPHRASE, else asked twice); the current one comes from the usual sources. The file is replaced atomically.

            Examples:
              evalvault keygen --out ~/evalvault/ev-alice
              evalvault keygen --change-passphrase ~/evalvault/ev-alice.key
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var kdf: KDFOptions

    @Option(name: .long, help: ArgumentHelp("Where to write the key pair, without extension.", valueName: "path"), completion: .file())
    var out: String?

    @Option(name: .customLong("change-passphrase"), help: ArgumentHelp("Re-encrypt this key file under a new passphrase.", valueName: "path"),
            completion: .file(extensions: ["key"]))
    var changePassphrase: String?

    @Option(name: .customLong("new-passphrase-file"), help: ArgumentHelp("With --change-passphrase: the new passphrase.", valueName: "file"),
            completion: .file())
    var newPassphraseFile: String?

    func validate() throws {
        guard (out == nil) != (changePassphrase == nil) else { throw ValidationError("give either --out PATH or --change-passphrase PATH.key") }
    }

    func run() throws {
        if let path = changePassphrase {
            // The current passphrase is checked before the new one is asked (three tries at the terminal).
            let old = try global.passphrase(subject: "the current passphrase of \(path)").unlock { current in
                _ = try KeyFile.load(path: path, passphrase: current)
                return current
            }
            let new = try PassphraseSource(file: newPassphraseFile, environmentVariable: "EVALVAULT_NEW_PASSPHRASE",
                                           subject: "the new passphrase of \(path)", fileOption: "--new-passphrase-file FILE").read(confirm: true)
            try KeyFile.changePassphrase(path: path, old: old, new: new, kdf: kdf.isSet ? try Scrypt.Parameters(log2N: kdf.kdfCost) : nil)
            if global.json { Output.json(.object(["key": .string(path), "passphrase_changed": .bool(true)])) }
            Output.notice("changed the passphrase of \(path)")
            return
        }
        guard let out else { return }
        let params = try Scrypt.Parameters(log2N: kdf.kdfCost)
        let passphrase = try global.passphrase(subject: "the new key \(out).key").read(confirm: true)
        let keys = PrivateKeys.generate()
        try KeyFile.write(keys, to: out, passphrase: passphrase, kdf: params)
        let fp = keys.publicKeys.fingerprint.description
        if global.json {
            Output.json(.object(["key": .string(out + ".key"), "pub": .string(out + ".pub"), "fingerprint": .string(fp)]))
        } else {
            Output.notice("wrote \(out).key (private, mode 0600) and \(out).pub")
            // The fingerprint is the result (compared by voice): printed even with --quiet.
            Output.line("fingerprint: \(fp)")
        }
    }
}
