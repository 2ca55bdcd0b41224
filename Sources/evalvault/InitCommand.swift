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

    func run() throws {
        let chairID = try PrincipalID(chair)
        let params = try Scrypt.Parameters(log2N: kdf.kdfCost)
        let location = global.location
        let passphrase = try global.passphrase(subject: "the chair's new key").read(confirm: true)
        let created = try Vault.initialize(at: location, chair: chairID, passphrase: passphrase, identity: identity, kdf: params)
        if global.json {
            Output.json(.object(["vault": .string(created.vaultID), "dir": .string(location.directory), "chair": .string(chairID.rawValue),
                                 "fingerprint": .string(created.chairFingerprint.description), "key": .string(created.keyPath)]))
        } else {
            Output.notice("created vault \(created.vaultID) in \(location.directory)")
            // The fingerprint is the result (evaluators compare it by voice): printed even with --quiet.
            Output.line("chair \(chairID): key \(created.keyPath), fingerprint \(created.chairFingerprint)")
        }
    }
}
