import ArgumentParser
import VaultCore

/// `evalvault import`: the chair stores batch files that evaluators sealed on their own machines.
struct ImportCommand: ParsableCommand {
    /// The machine form of one file's outcome.
    static func outcome(file: String, accepted: Bool, _ r: ImportOutcome? = nil, error: String? = nil) -> JSONValue {
        .object(["file": .string(file), "accepted": .bool(accepted), "batch": .optional(r?.batch), "round": .optional(r?.round),
                 "evaluator": .optional(r?.evaluator), "scores": .optional(r?.scores), "entry": .optional(r?.seq), "error": .optional(error)])
    }

    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Verify and store batch files sealed by evaluators (chair).",
        discussion: """
            Each file is checked on its own: it is for this vault and for an open round of it, sealed to that round's key by an evaluator on the round's panel, whole, and signed by that evaluator. Each accepted file is stored as it is, with one signed audit entry; the vault cannot read its scores. Files that fail are refused with the reason and nothing of them is stored; the others are still imported. A file imported before is reported and skipped. Exit 0 when every file was accepted (or already there), else the status of the first refusal.

            Examples:
              evalvault import --as chair ev-1.batch ev-2.batch
              evalvault import --as chair inbox/*.batch
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("The batch files.", valueName: "file"), completion: .file(extensions: ["batch"])) var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one batch file") }
    }

    func run() throws {
        let (vault, actor) = try global.authenticate(action: "import", target: "batches")
        var outcomes: [JSONValue] = []
        var firstError: VaultError?
        for file in files {
            do {
                let r = try vault.importBatch(path: file, actor: actor)
                outcomes.append(Self.outcome(file: file, accepted: true, r))
                if !global.json {
                    if let seq = r.seq {
                        Output.notice("imported \(file): batch \(r.batch.prefix(16)) of \(r.evaluator), \(r.scores) score\(r.scores == 1 ? "" : "s") into round \(r.round) (entry \(seq))")
                    } else {
                        Output.notice("already imported \(file): batch \(r.batch.prefix(16)) of \(r.evaluator) into round \(r.round)")
                    }
                }
            } catch let e as VaultError {
                firstError = firstError ?? e
                outcomes.append(Self.outcome(file: file, accepted: false, error: e.message))
                Output.error("refused \(file): \(e.message)")
            }
        }
        if global.json { Output.json(.array(outcomes)) }
        if let firstError { throw ExitCode(firstError.exitStatus.rawValue) }
    }
}
