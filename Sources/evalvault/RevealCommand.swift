import ArgumentParser
import Foundation
import VaultCore

/// `reveal`: the reveal itself (the default: `evalvault reveal --round …` or `--request …`) and
/// `reveal request`. A group, so that the two share option names without the parser handing
/// them to the wrong one.
struct RevealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reveal",
        abstract: RevealRun.configuration.abstract,
        discussion: RevealRun.configuration.discussion + "\n\nThe options: evalvault reveal run --help (run is the default: `evalvault reveal --round …` is `evalvault reveal run --round …`).",
        subcommands: [RevealRun.self, RevealRequestCommand.self],
        defaultSubcommand: RevealRun.self)
}

struct RevealRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Unseal the aggregates of a closed round that the policy allows (chair, with k holders).",
        discussion: """
            Statistics: count, mean, median, trimmed_mean, stddev, min, max, weighted_total, rank (the default policy allows count, mean, median, trimmed_mean, weighted_total and rank, only on closed rounds, only by team or team,criterion, only as the round file declared them in [[publish]] — statistic, grouping, precision, advance and trim exactly; see round show — and only when every (team, criterion) cell behind the output has at least 3 evaluators). Each group shows n, its smallest such cell. Values are exact, rounded half-even at --precision places.

            A k-of-n round needs k holders to release the round key. Either here: the acting principal and co-holders named with --with, each with their passphrase from --with-passphrase-file ID=FILE, else $EVALVAULT_PASSPHRASE_<ID>, else a prompt. Or from their own machines: `reveal request` writes a signed request, each holder runs `evalvault approve FILE` and sends back an approval file, and `reveal --request FILE --approval FILE…` completes the reveal.

            Examples:
              evalvault reveal --as chair --round 2025-R1 --stat mean \\
                  --by team,criterion --with cm-1
              evalvault reveal --as chair --round 2025-R1 --stat rank --advance 4 \\
                  --with cm-1 --publish ranking.json
              evalvault reveal request --as chair --round 2025-R1 --stat rank \\
                  --advance 4 --out rank.req
              evalvault reveal --as chair --request rank.req \\
                  --approval cm-1.approval --publish ranking.json
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("The round id.", valueName: "id"), completion: IDCompletion.rounds) var round: String?
    @OptionGroup var spec: RevealSpecOptions
    @Option(help: "The output's form (--json is --format json).") var format: RevealFormat?
    @OptionGroup var holders: CoHolderOptions
    @Option(help: ArgumentHelp("Complete the reveal asked in this request (from `reveal request`)…", valueName: "file"), completion: .file())
    var request: String?
    @Option(help: ArgumentHelp("…with this holder's approval of it (repeatable).", valueName: "file"), completion: .file()) var approval: [String] = []
    @Option(help: ArgumentHelp("Also write a result statement signed by the chair to this file.", valueName: "file"), completion: .file())
    var publish: String?
    @OptionGroup var overwrite: ForceOption

    /// `--format`, or json with `--json` (the two may be given together only when they agree).
    var outputFormat: RevealFormat { global.json ? .json : format ?? .table }

    func validate() throws {
        if global.json, let format, format != .json { throw ValidationError("--json prints the reveal as --format json; give one or the other") }
        if overwrite.force && publish == nil { throw ValidationError("--force goes with --publish FILE") }
        if request != nil {
            guard round == nil, spec.isEmpty else { throw ValidationError("--request names the round and the reveal: give no --round, --stat, --by, --trim, --advance or --precision") }
        } else {
            guard round != nil, spec.stat != nil else { throw ValidationError("give --round and --stat (or --request FILE)") }
            guard approval.isEmpty else { throw ValidationError("--approval goes with --request FILE") }
            try spec.check()
        }
    }

    func run() throws {
        // Refused before the reveal: it is recorded in the audit log, and a result statement is
        // never replaced by accident.
        try Output.checkWritable(publish, force: overwrite.force, option: "--publish")
        let bar = Output.ProgressBar(label: "verifying")
        let outcome: RevealOutcome
        if let request {
            let (vault, actor) = try global.authenticate(action: "reveal", target: "request")
            let bytes = try Files.read(request, what: "reveal request", limit: RequestFile.maxFileSize)
            // The round, when the file names one, to check --with before any passphrase is asked
            // (a malformed file is refused, and recorded, by the reveal itself).
            let coHolders = try holders.authenticate(in: vault, target: "request", round: (try? RequestFile.parse(bytes, file: request))?.round, actor: actor)
            let outcomes = try vault.reveal(request: bytes, file: request,
                                            approvals: try approval.map { (try Files.read($0, what: "approval", limit: ApprovalFile.maxFileSize), $0) },
                                            actor: actor, coHolders: coHolders, format: outputFormat, publish: publish != nil,
                                            progress: bar.update)
            bar.finish()
            for o in outcomes.dropLast() { FileHandle.standardOutput.write(Data(o.output)) }
            outcome = outcomes[outcomes.count - 1]
        } else {
            let round = round!
            let (vault, actor) = try global.authenticate(action: "reveal", target: "round/\(round)")
            let coHolders = try holders.authenticate(in: vault, target: "round/\(round)", round: round, actor: actor)
            outcome = try vault.reveal(spec.request(round: round, format: outputFormat), actor: actor, coHolders: coHolders,
                                       publish: publish != nil, progress: bar.update)
            bar.finish()
        }
        FileHandle.standardOutput.write(Data(outcome.output))
        if let publish, let statement = outcome.statement {
            try Output.writeFile(statement, to: publish, force: overwrite.force, option: "--publish")
            // Only under a table: after JSON or CSV on stdout a sentence would break the data.
            if outputFormat == .table { Output.notice("wrote the signed result statement to \(publish)") }
        }
    }
}

/// `reveal request`: the chair asks the round's holders, as a file, to release the round key for
/// one declared reveal.
struct RevealRequestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "Write a signed request for the round's holders to release its key for one declared reveal (chair).",
        discussion: """
            The round must be closed, and the reveal one the round declares. The request names the reveal, the round's manifest root, each holder's wrap of its key piece (so holders need no vault) and a one-time key for their pieces; nothing secret is kept. Each holder runs `evalvault approve FILE` and sends back an approval; then `reveal --request FILE --approval FILE…` completes it. The policy is asked now as it will be then (with every holder counted), so what it refuses whoever approves is refused at once.

            Example:
              evalvault reveal request --as chair --round 2025-R1 --stat rank \\
                  --advance 4 --out rank.req
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("The round id.", valueName: "id"), completion: IDCompletion.rounds) var round: String
    @OptionGroup var spec: RevealSpecOptions
    @Option(help: ArgumentHelp("Where to write the request.", valueName: "file"), completion: .file()) var out: String
    @OptionGroup var overwrite: ForceOption

    func validate() throws {
        guard spec.stat != nil else { throw ValidationError("give --stat") }
        try spec.check()
    }

    func run() throws {
        try Output.checkWritable(out, force: overwrite.force)
        let (vault, actor) = try global.authenticate(action: "reveal", target: "round/\(round)")
        let r = try vault.makeRevealRequest(spec.request(round: round, format: .table), actor: actor)
        try Output.writeFile(r.bytes, to: out, force: overwrite.force)
        if global.json {
            Output.json(.object(["round": .string(round), "request": .string(out), "reveals": .array(r.reveals.map(\.reveal.canonicalJSON)),
                                 "manifest_root": .string(Hex.encode(r.manifestRoot ?? [])), "threshold": .int(r.threshold), "holders": .ids(r.holders),
                                 "fingerprint": .string(actor.principal.publicKeys.fingerprint.description)]))
        }
        Output.notice("wrote the reveal request for \(r.reveals.map(\.reveal.description).joined(separator: "; ")) of round \(round) to \(out): manifest root \(Hex.encode(r.manifestRoot ?? [])); it needs \(r.threshold) of \(r.holders.map(\.rawValue).joined(separator: ", ")) to approve")
        Output.notice("each holder runs `evalvault approve \((out as NSString).lastPathComponent) --as ID --key KEY --out ID.approval` and compares your fingerprint \(actor.principal.publicKeys.fingerprint) by voice; then: evalvault reveal --request \(out) --approval FILE…")
    }
}

/// What a reveal asks for: statistic, grouping, and the options some statistics take.
struct RevealSpecOptions: ParsableArguments {
    @Option(help: "The statistic.") var stat: Statistic?
    @Option(help: "The grouping (default team).") var by: Grouping?
    @Option(help: "trimmed_mean: the fraction dropped at each end (default: one score each end).") var trim: String?
    @Option(help: "rank: mark the top N as advancing.") var advance: Int?
    @Option(help: "Decimal places (0-6, default 2).") var precision: Int?

    var isEmpty: Bool { stat == nil && by == nil && trim == nil && advance == nil && precision == nil }

    func check() throws {
        guard let stat else { throw ValidationError("give --stat") }
        guard (0...6).contains(precision ?? 2) else { throw ValidationError("--precision must be 0 to 6") }
        if let trim {
            guard stat == .trimmedMean else { throw ValidationError("--trim goes with --stat trimmed_mean") }
            guard let f = Fixed(trim), f.micros >= 0, f.micros < Fixed.scale / 2 else { throw ValidationError("--trim must be a fraction from 0 to below 0.5") }
        }
        if let advance {
            guard stat == .rank else { throw ValidationError("--advance goes with --stat rank") }
            guard advance >= 0 else { throw ValidationError("--advance must not be negative") }
        }
    }

    func request(round: String, format: RevealFormat) -> RevealRequest {
        RevealRequest(round: round, stat: stat!, by: (by ?? .team).fields,
                      trim: trim.flatMap(Fixed.init), advance: advance, precision: precision ?? DeclaredReveal.defaultPrecision, format: format)
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
    @Argument(help: "The result statement (from reveal --publish).", completion: .file(extensions: ["json"])) var file: String
    @OptionGroup var pin: ChairPinOptions

    func run() throws {
        let v = try ResultStatement.verify(try Files.read(file, what: "result statement", limit: ResultStatement.maxFileSize),
                                           expectedChair: try pin.pin())
        if global.json {
            // The groups as the statement holds them: n and rank numbers, values decimal strings.
            Output.json(.object(["ok": .bool(true), "vault": .string(v.vault), "round": .string(v.round), "stat": .string(v.stat),
                                 "groups": .array(v.groups), "chair": .string(v.chair), "chair_fingerprint": .string(v.chairFingerprint.description),
                                 "policy_sha256": .string(v.policySHA256), "checkpoint": .object(["size": .int(v.checkpointSize)]),
                                 "entry": .int(v.entryIndex), "manifest_root": .string(v.manifestRoot)]))
            return
        }
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
    @Option(name: .customLong("chair-pub"), help: ArgumentHelp("The chair's .pub file: the statement must be signed by it.", valueName: "file"),
            completion: .file(extensions: ["pub"]))
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
