import ArgumentParser
import VaultCore

struct SealCommand: ParsableCommand {

    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Seal scores into an open round (evaluator). Nobody can read them back, you included.",
        discussion: """
            One score with --team, --criterion and --score, or a whole batch from a CSV file with the header team,criterion,score[,comment]. Every score is checked against its criterion's range and step first; if one row is wrong, nothing is sealed. Sealing the same team and criterion again while the round is open replaces your earlier score. After sealing, it prints what the round will publish: the reveals its round file declared, fixed before anyone sealed.

            On your own machine, with no vault folder: seal against the round descriptor the chair sent you (--round-file) into a batch file (--out), and send that file to the chair, who imports it. The first descriptor of a vault pins its chair's key in your state folder: compare the fingerprint it prints with the chair's, by voice.

            Examples:
              evalvault seal --as ev-1 --round 2025-R1 --team upstage \\
                  --criterion performance --score 81.5
              evalvault seal --as ev-1 --round 2025-R1 --csv my-scores.csv
              evalvault seal --as ev-1 --key ev-1.key --round-file 2025-R1.round \\
                  --csv my-scores.csv --out ev-1.batch
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("The round id (sealing into the vault folder).", valueName: "id"), completion: IDCompletion.rounds) var round: String?
    @Option(name: .customLong("round-file"), help: ArgumentHelp("The round descriptor the chair published (sealing on your own machine).", valueName: "file"),
            completion: .file(extensions: ["round"]))
    var roundFile: String?
    @Option(help: ArgumentHelp("With --round-file: the batch file to write (send it to the chair).", valueName: "file"), completion: .file()) var out: String?
    @Option(help: "The team.") var team: String?
    @Option(help: "The criterion.") var criterion: String?
    @Option(help: "The score, on the criterion's grid.") var score: String?
    @Option(help: "A comment (sealed with the score; never printed).") var comment: String?
    @Option(help: ArgumentHelp("A CSV file of scores: team,criterion,score[,comment]; - reads standard input.", valueName: "file"), completion: .file(extensions: ["csv"]))
    var csv: String?
    @Option(name: .customLong("receipt-out"), help: ArgumentHelp("Also write the receipt here (it is always kept in your state folder).", valueName: "file"),
            completion: .file())
    var receiptOut: String?
    @OptionGroup var overwrite: ForceOption

    func validate() throws {
        // Standard input can be read once: two inputs cannot both be `-`.
        let fromStdin = [("--csv", csv), ("--round-file", roundFile), ("--passphrase-file", global.passphraseFile)]
            .filter { $0.1 == Files.standardInput }.map(\.0)
        guard fromStdin.count < 2 else {
            let both = fromStdin.count == 2
            throw ValidationError("\(fromStdin.joined(separator: " and ")) \(both ? "both" : "all") ask for standard input (-), which can be read only once: give \(both ? "one of them" : "all but one") as a file")
        }
        guard (round == nil) != (roundFile == nil) else { throw ValidationError("give either --round ID (in the vault folder) or --round-file FILE (on your own machine)") }
        guard (roundFile == nil) == (out == nil) else { throw ValidationError("--round-file and --out go together: seal to a batch file from a round descriptor") }
        if overwrite.force && out == nil && receiptOut == nil { throw ValidationError("--force goes with --out FILE or --receipt-out FILE") }
        if csv != nil {
            guard team == nil, criterion == nil, score == nil, comment == nil else {
                throw ValidationError("give either --csv FILE or --team, --criterion and --score, not both")
            }
        } else {
            guard team != nil, criterion != nil, score != nil else {
                throw ValidationError("give --team, --criterion and --score (or --csv FILE)")
            }
        }
    }

    func run() throws {
        try Output.checkWritable(out, force: overwrite.force)
        try Output.checkWritable(receiptOut, force: overwrite.force, option: "--receipt-out")
        let sheet: ScoreSheet
        if let csv {
            sheet = try ScoreSheet.fromCSV(file: csv)
        } else {
            guard let value = Fixed(score!) else { throw VaultError.invalidData("\"\(score!.prefix(20))\" is not a number") }
            sheet = ScoreSheet([ScoreInput(team: team!, criterion: criterion!, score: value, comment: comment)])
        }
        if let roundFile, let out { return try sealToFile(sheet, roundFile: roundFile, out: out) }
        let round = round!
        let (vault, actor) = try global.authenticate(action: "seal", target: "round/\(round)")
        let bar = csv != nil ? Output.ProgressBar(label: "sealing") : nil
        let receipt = try vault.seal(sheet, round: round, actor: actor, file: csv, progress: bar?.update)
        bar?.finish()
        if let receiptOut {
            try Output.writeFile(receipt.receipt.bytes, to: receiptOut, mode: 0o600, force: overwrite.force, option: "--receipt-out")
        }
        // What the round will publish, fixed before anyone sealed (the round the seal was
        // checked against, signed by the chair this evaluator pinned).
        let declared = try vault.round(round, verifiedWith: actor.chairKey).config.publish
        if global.json {
            Output.json(.object(["round": .string(receipt.round), "batch": .string(receipt.batchID), "scores": .int(receipt.count),
                                 "entry": .optional(receipt.receipt.seq), "receipt": .string(receipt.receiptPath), "file": .null,
                                 "publish": .array(declared.map(\.canonicalJSON))]))
        } else {
            Output.notice("sealed \(receipt.count) score\(receipt.count == 1 ? "" : "s") in round \(receipt.round) (batch \(receipt.batchID))")
            if declared.isEmpty { Output.line("round \(receipt.round) declares no reveals: nothing can be published from it under the default policy") }
            for d in declared { Output.line("round \(receipt.round) will publish: \(d.description)") }
            Output.line("receipt: \(receipt.receiptPath) (entry \(receipt.receipt.seq ?? 0)); after the result is published, check it with: evalvault receipt verify \(receipt.receiptPath) --result RESULT.json")
        }
    }

    /// Seals on the evaluator's own machine: descriptor in, batch file out, no vault.
    func sealToFile(_ sheet: ScoreSheet, roundFile: String, out: String) throws {
        let descriptor = try RoundDescriptor(bytes: try Files.read(roundFile, what: "round descriptor", limit: RoundDescriptor.maxFileSize),
                                            file: Files.displayName(roundFile))
        let id = try global.actorID()
        guard let keyPath = global.key else { throw VaultError.usage("give --key FILE: with --round-file there is no vault folder to find your key in") }
        try KeyFile.checkPermissions(path: keyPath)
        let keys = try global.passphrase(subject: id.rawValue).unlock { try KeyFile.load(path: keyPath, passphrase: $0) }
        let bar = csv != nil ? Output.ProgressBar(label: "sealing") : nil
        let sealed = try descriptor.seal(sheet, evaluator: id, keys: keys, out: out, overwrite: overwrite.force, client: .resolve(), progress: bar?.update)
        bar?.finish()
        if sealed.newlyPinned {
            Output.warning("pinned the chair's key for vault \(descriptor.vault): fingerprint \(descriptor.fingerprint); compare it with the chair's by voice")
        }
        if let receiptOut {
            try Output.writeFile(sealed.receipt.bytes, to: receiptOut, mode: 0o600, force: overwrite.force, option: "--receipt-out")
        }
        let r = sealed.receipt
        if global.json {
            Output.json(.object(["round": .string(r.round), "batch": .string(r.batch), "scores": .int(r.scores), "entry": .null,
                                 "receipt": .string(sealed.receiptPath), "file": .string(out),
                                 "publish": .array(descriptor.round.config.publish.map(\.canonicalJSON))]))
        } else {
            Output.notice("sealed \(r.scores) score\(r.scores == 1 ? "" : "s") for round \(r.round) into \(out) (batch \(r.batch)); send it to the chair, who imports it")
            for d in descriptor.round.config.publish { Output.line("round \(r.round) will publish: \(d.description)") }
            Output.line("receipt: \(sealed.receiptPath); after the result is published, check it with: evalvault receipt verify \(sealed.receiptPath) --result RESULT.json")
        }
    }
}
