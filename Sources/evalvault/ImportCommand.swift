import ArgumentParser
import VaultCore

/// `evalvault import`: the chair stores batch files that evaluators sealed on their own machines.
struct ImportCommand: ParsableCommand {
    /// The machine form of one file's outcome.
    struct Outcome: Encodable { let file: String; let accepted: Bool; let batch: String?; let round: String?; let evaluator: String?; let scores: Int?; let entry: Int?; let error: String? }

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
    @Argument(help: ArgumentHelp("The batch files.", valueName: "file")) var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one batch file") }
    }

    func run() throws {
        let (vault, actor) = try global.authenticate(action: "import", target: "batches")
        var outcomes: [Outcome] = []
        var firstError: VaultError?
        for file in files {
            do {
                let r = try vault.importBatch(path: file, actor: actor)
                outcomes.append(Outcome(file: file, accepted: true, batch: r.batch, round: r.round, evaluator: r.evaluator, scores: r.scores, entry: r.seq, error: nil))
                if !global.json {
                    if let seq = r.seq {
                        Output.line("imported \(file): batch \(r.batch.prefix(16)) of \(r.evaluator), \(r.scores) score\(r.scores == 1 ? "" : "s") into round \(r.round) (entry \(seq))")
                    } else {
                        Output.line("already imported \(file): batch \(r.batch.prefix(16)) of \(r.evaluator) into round \(r.round)")
                    }
                }
            } catch let e as VaultError {
                firstError = firstError ?? e
                outcomes.append(Outcome(file: file, accepted: false, batch: nil, round: nil, evaluator: nil, scores: nil, entry: nil, error: e.message))
                Output.error("refused \(file): \(e.message)")
            }
        }
        if global.json { Output.json(outcomes) }
        if let firstError { throw ExitCode(firstError.exitStatus.rawValue) }
    }
}
