import ArgumentParser
import Foundation
import VaultCore

struct RevealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reveal",
        abstract: "Unseal the aggregates of a closed round that the policy allows (chair, with k holders).",
        discussion: """
            Statistics: count, mean, median, trimmed_mean, stddev, min, max, weighted_total, rank (the default policy allows count, mean, median, trimmed_mean, weighted_total and rank, only on closed rounds, only by team or team,criterion, only as the round file declared them in [[publish]] — statistic, grouping, precision, advance and trim exactly; see round show — and only when every (team, criterion) cell behind the output has at least 3 evaluators). Each group shows n, its smallest such cell. Values are exact, rounded half-even at --precision places. A k-of-n round needs k holders in the same command: the acting principal and co-holders named with --with, each with their passphrase from --with-passphrase-file ID=FILE, else $EVALVAULT_PASSPHRASE_<ID>, else a prompt.

            Examples:
              evalvault reveal --as chair --round 2025-R1 --stat mean --by team,criterion --with cm-1
              evalvault reveal --as chair --round 2025-R1 --stat rank --advance 4 --with cm-1 --publish ranking.json
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "The round id.") var round: String
    @Option(help: "The statistic.") var stat: String
    @Option(help: "team or team,criterion.") var by: String = "team"
    @Option(help: "trimmed_mean: the fraction dropped at each end (default: one score each end).") var trim: String?
    @Option(help: "rank: mark the top N as advancing.") var advance: Int?
    @Option(help: "Decimal places (0-6).") var precision: Int = 2
    @Option(help: "table, json or csv.") var format: String = "table"
    @OptionGroup var holders: CoHolderOptions
    @Option(help: "Also write a result statement signed by the chair to this file.") var publish: String?

    func validate() throws {
        guard Statistic(rawValue: stat) != nil else {
            throw ValidationError("--stat must be one of \(Statistic.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard by.split(separator: ",").allSatisfy({ ["team", "criterion", "evaluator"].contains($0) }) else {
            throw ValidationError("--by takes team, criterion or evaluator, comma-separated")
        }
        guard RevealFormat(rawValue: format) != nil else { throw ValidationError("--format must be table, json or csv") }
        guard (0...6).contains(precision) else { throw ValidationError("--precision must be 0 to 6") }
        if let trim {
            guard stat == "trimmed_mean" else { throw ValidationError("--trim goes with --stat trimmed_mean") }
            guard let f = Fixed(trim), f.micros >= 0, f.micros < Fixed.scale / 2 else { throw ValidationError("--trim must be a fraction from 0 to below 0.5") }
        }
        if let advance {
            guard stat == "rank" else { throw ValidationError("--advance goes with --stat rank") }
            guard advance >= 0 else { throw ValidationError("--advance must not be negative") }
        }
    }

    func run() throws {
        let (vault, actor) = try global.authenticate(action: "reveal", target: "round/\(round)")
        let coHolders = try holders.authenticate(in: vault, target: "round/\(round)")
        let request = RevealRequest(round: round, stat: Statistic(rawValue: stat)!, by: by.split(separator: ",").map(String.init),
                                    trim: trim.flatMap(Fixed.init), advance: advance, precision: precision, format: RevealFormat(rawValue: format)!)
        let bar = Output.ProgressBar(label: "verifying")
        let outcome = try vault.reveal(request, actor: actor, coHolders: coHolders, publish: publish != nil, progress: bar.update)
        bar.finish()
        FileHandle.standardOutput.write(Data(outcome.output))
        if let publish, let statement = outcome.statement {
            try Files.writeAtomically(statement, to: publish, mode: 0o644, overwrite: true)
            Output.notice("wrote the signed result statement to \(publish)")
        }
    }
}

struct VerifyResultCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-result",
        abstract: "Check a published result statement offline: no vault, no passphrase.",
        discussion: """
            Checks the chair's signature over the statement, that the audit log recorded exactly this statement for the reveal (the entry's inclusion proof in a chair-signed checkpoint), and prints what it states with the chair's fingerprint. Give the chair's key with --chair-pub or --fingerprint to check it instead of trusting the one in the file.

            Examples:
              evalvault verify-result ranking.json
              evalvault verify-result ranking.json --chair-pub chair.pub
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The result statement (from reveal --publish).") var file: String
    @OptionGroup var pin: ChairPinOptions

    func run() throws {
        let v = try ResultStatement.verify(try Files.read(file, what: "result statement", limit: ResultStatement.maxFileSize),
                                           expectedChair: try pin.pin())
        Output.line("ok: \(v.stat) of round \(v.round), \(v.groups.count) groups, signed by chair \(v.chair) (fingerprint \(v.chairFingerprint))")
        Output.line("policy sha256 \(v.policySHA256); audit checkpoint at \(v.checkpointSize) entries")
        for g in v.groups {
            let parts = ["team", "criterion", "n", "value", "rank", "advance"].compactMap { k -> String? in
                guard let x = g[k] else { return nil }
                switch x {
                case .string(let s): return "\(k) \(s)"
                case .integer(let i): return "\(k) \(i)"
                case .bool(let b): return b ? k : nil
                default: return nil
                }
            }
            Output.line("  " + parts.joined(separator: ", "))
        }
    }
}

/// `--chair-pub FILE` or `--fingerprint FP`: the chair key a verifier expects, from out of band.
struct ChairPinOptions: ParsableArguments {
    @Option(name: .customLong("chair-pub"), help: ArgumentHelp("The chair's .pub file: the statement must be signed by it.", valueName: "file"))
    var chairPub: String?
    @Option(help: ArgumentHelp("The chair's fingerprint (as `evalvault keygen` printed it).", valueName: "fp")) var fingerprint: String?

    func pin() throws -> ResultStatement.ChairPin? {
        if let chairPub {
            guard fingerprint == nil else { throw VaultError.usage("give --chair-pub or --fingerprint, not both") }
            return .key(try PublicKeys.load(path: chairPub))
        }
        return fingerprint.map { .fingerprint($0) }
    }
}
