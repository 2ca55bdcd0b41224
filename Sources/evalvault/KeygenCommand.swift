import ArgumentParser
import VaultCore
import VaultCrypto

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make a key pair: PATH.key (passphrase-protected, mode 0600) and PATH.pub.",
        discussion: """
            Each person makes their own key and hands only the .pub file to the chair.
            The passphrase comes from --passphrase-file, else $EVALVAULT_PASSPHRASE, else it is
            asked twice on the terminal.

            Example:
              evalvault keygen --out ~/evalvault/ev-alice
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var kdf: KDFOptions

    @Option(name: .long, help: ArgumentHelp("Where to write the key pair, without extension.", valueName: "path"))
    var out: String

    struct Report: Encodable { let key: String; let pub: String; let fingerprint: String }

    func run() throws {
        let params = try Scrypt.Parameters(log2N: kdf.kdfCost)
        let passphrase = try global.passphrase(subject: "the new key \(out).key").read(confirm: true)
        let keys = PrivateKeys.generate()
        try KeyFile.write(keys, to: out, passphrase: passphrase, kdf: params)
        let fp = keys.publicKeys.fingerprint.description
        if global.json {
            Output.json(Report(key: out + ".key", pub: out + ".pub", fingerprint: fp))
        } else {
            Output.line("wrote \(out).key (private, mode 0600) and \(out).pub")
            Output.line("fingerprint: \(fp)")
        }
    }
}
