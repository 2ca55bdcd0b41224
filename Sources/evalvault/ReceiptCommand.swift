import ArgumentParser
import VaultCore

/// `evalvault receipt verify`: an evaluator checks, offline, that its batch was counted.
struct ReceiptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipt",
        abstract: "Check that a sealed batch was counted in a published result.",
        subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prove from a published result that your batch is in its manifest (no vault, no passphrase).",
            discussion: """
                `seal` prints and keeps a receipt in your state folder ($EVALVAULT_STATE, else $XDG_STATE_HOME/evalvault, else ~/.local/state/evalvault, under receipts/). This checks the result statement on its own (its signature and its binding to the audit log), then that the manifest of counted batches it carries holds your batch with the digest you signed. Exit 0: counted. Exit 65: not counted, or the result does not verify — take the receipt to the chair or the auditor.

                Examples:
                  evalvault receipt verify ~/.local/state/evalvault/receipts/VAULT/BATCH.json --result ranking.json
                  evalvault receipt verify receipt.json --result ranking.json --fingerprint 1a2b-…
                """)
        @Argument(help: "The receipt file that seal printed.") var receipt: String
        @Option(help: ArgumentHelp("The published result statement.", valueName: "file")) var result: String
        @OptionGroup var pin: ChairPinOptions
        @Flag(name: .long, help: "Print machine-readable JSON on stdout.") var json = false

        func run() throws {
            let r = try Receipt(bytes: try Files.read(receipt, what: "receipt", limit: 64 << 10), file: receipt)
            let v = try Receipt.verify(r, result: try Files.read(result, what: "result statement", limit: ResultStatement.maxFileSize), expectedChair: try pin.pin())
            if json {
                Output.json(["counted": "true", "round": r.round, "batch": r.batch, "manifest_root": v.manifestRoot])
            } else {
                Output.line("counted: batch \(r.batch) (\(r.scores) score\(r.scores == 1 ? "" : "s")) is in the manifest of round \(r.round) (\(v.manifestLeaves.count) batches, root \(v.manifestRoot.prefix(16))…), signed by chair \(v.chair) (fingerprint \(v.chairFingerprint))")
            }
        }
    }
}
