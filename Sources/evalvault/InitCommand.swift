import ArgumentParser
import VaultCore
import VaultCrypto

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a new vault and the chair's key pair.",
        discussion: """
            Creates DIR/vault.db, DIR/Keys/<chair>.key and .pub, and DIR/Policies/default.policy. The chair's real identity, if given, is stored only encrypted. An existing vault is never overwritten.

            Example:
              evalvault init --dir ./vault --chair chair --identity "Programme Director"
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var kdf: KDFOptions

    @Option(name: .long, help: ArgumentHelp("The chair's id.", valueName: "id"))
    var chair: String

    @Option(name: .long, help: ArgumentHelp("The chair's real identity (stored encrypted).", valueName: "text"))
    var identity: String?

    struct Report: Encodable { let vault: String; let dir: String; let chair: String; let fingerprint: String; let key: String }

    func run() throws {
        let chairID = try PrincipalID(chair)
        let params = try Scrypt.Parameters(log2N: kdf.kdfCost)
        let location = global.location
        let passphrase = try global.passphrase(subject: "the chair's new key").read(confirm: true)
        let created = try Vault.initialize(at: location, chair: chairID, passphrase: passphrase, identity: identity, kdf: params)
        if global.json {
            Output.json(Report(vault: created.vaultID, dir: location.directory, chair: chairID.rawValue,
                               fingerprint: created.chairFingerprint.description, key: created.keyPath))
        } else {
            Output.line("created vault \(created.vaultID) in \(location.directory)")
            Output.line("chair \(chairID): key \(created.keyPath), fingerprint \(created.chairFingerprint)")
        }
    }
}
