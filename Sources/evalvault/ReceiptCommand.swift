import ArgumentParser
import VaultCore

/// `evalvault receipt verify`: an evaluator checks, offline, that its batch was counted.
struct ReceiptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipt",
        abstract: "Check that a sealed batch was counted in a published result.",
        discussion: """
            Example:
              evalvault receipt verify receipt.json --result ranking.json
            """,
        subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prove from a published result that your batch is in its manifest (no vault, no passphrase).",
            discussion: """
                `seal` prints and keeps a receipt in your state folder ($EVALVAULT_STATE, else $XDG_STATE_HOME/evalvault, else ~/.local/state/evalvault, under receipts/). This checks the result statement on its own (its signature and its binding to the audit log), then that the manifest of counted batches it carries holds your batch with the digest you signed. Exit 0: counted. Exit 65: not counted, or the result does not verify — take the receipt to the chair or the auditor.

                Examples:
                  evalvault receipt verify receipt.json --result ranking.json
                  evalvault receipt verify receipt.json --result ranking.json \\
                      --fingerprint 1a2b-…
                """)
        @Argument(help: "The receipt file that seal printed.", completion: .file(extensions: ["json"])) var receipt: String
        @Option(help: ArgumentHelp("The published result statement.", valueName: "file"), completion: .file(extensions: ["json"])) var result: String
        @OptionGroup var pin: ChairPinOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let r = try Receipt(bytes: try Files.read(receipt, what: "receipt", limit: 64 << 10), file: receipt)
            let v = try Receipt.verify(r, result: try Files.read(result, what: "result statement", limit: ResultStatement.maxFileSize), expectedChair: try pin.pin())
            if output.json {
                Output.json(.object(["counted": .bool(true), "round": .string(r.round), "batch": .string(r.batch), "scores": .int(r.scores),
                                     "manifest_root": .string(v.manifestRoot), "batches": .int(v.manifestLeaves.count), "chair": .string(v.chair),
                                     "chair_fingerprint": .string(v.chairFingerprint.description)]))
            } else {
                Output.line("counted: batch \(r.batch) (\(r.scores) score\(r.scores == 1 ? "" : "s")) is in the manifest of round \(r.round) (\(v.manifestLeaves.count) batches, root \(v.manifestRoot.prefix(16))…), signed by chair \(v.chair) (fingerprint \(v.chairFingerprint))")
            }
        }
    }
}
