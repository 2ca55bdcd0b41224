import ArgumentParser
import Foundation
import VaultCore

struct RoundCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "round",
        abstract: "Create, open, close, list and show evaluation rounds.",
        discussion: """
            Examples:
              evalvault round create --as chair --config Examples/round-1.toml
              evalvault round open 2025-R1 --as chair --with cm-1
              evalvault round list
            """,
        subcommands: [Create.self, Open.self, Publish.self, Close.self, List.self, Show.self, Status.self, Shred.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a draft round from a TOML round file (chair).",
            discussion: """
                The file names the round, its teams, its criteria (id, title, weight, min, max, step), its reveal holders and threshold, and the reveals it will publish ([[publish]]: stat, by, precision, advance, trim); see Examples/round-1.toml. Every field is checked, with errors as file:line: key: message.

                Example:
                  evalvault round create --as chair --config Examples/round-1.toml
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("The round file (TOML).", valueName: "file"), completion: .file(extensions: ["toml"])) var config: String

        func run() throws {
            let parsed = try RoundFile.load(path: config)
            let (vault, actor) = try global.authenticate(action: "round.create", target: "round/\(parsed.id)")
            try vault.createRound(parsed, actor: actor)
            if global.json {
                Output.json(.object(["round": .string(parsed.id), "state": .string(RoundState.draft.rawValue), "teams": .int(parsed.teams.count),
                                     "criteria": .int(parsed.criteria.count), "threshold": .int(parsed.reveal.threshold),
                                     "holders": .ids(parsed.reveal.holders), "publish": .array(parsed.publish.map(\.canonicalJSON))]))
            }
            Output.notice("created round \(parsed.id) (draft): \(parsed.teams.count) teams, \(parsed.criteria.count) criteria, reveal \(parsed.reveal.threshold) of \(parsed.reveal.holders.count), \(parsed.publish.count) declared reveal\(parsed.publish.count == 1 ? "" : "s")")
            if parsed.publish.isEmpty { Output.warning("round \(parsed.id) declares no reveals ([[publish]]): under the default policy nothing can be published from it") }
        }
    }

    struct Open: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a round for sealing, with k of its reveal holders approving its panel (chair).",
            discussion: """
                Fixes the panel — the evaluators who may seal: the round file's `panel` list, or every enrolled, enabled evaluator now — and needs the round's threshold of reveal holders to approve it. Then makes the round's key pair and wraps the key (or its shares) to the holders.

                Holders approve either here, typing their passphrase into this command (the chair, and each co-holder with --with), or on their own machines: --request-out FILE writes a signed request (nothing secret is kept); each holder runs `evalvault approve FILE` and sends back an approval file; then --request FILE --approval FILE… completes the open. The chair, when a holder, counts without an approval file.

                Examples:
                  evalvault round open 2025-R1 --as chair --with cm-1
                  evalvault round open R1 --as chair        # a round whose threshold is 1
                  evalvault round open 2025-R1 --as chair --request-out open.req
                  evalvault round open 2025-R1 --as chair --request open.req \\
                      --approval cm-1.approval
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The round id.", completion: IDCompletion.rounds) var id: String
        @OptionGroup var holders: CoHolderOptions
        @Option(name: .customLong("request-out"), help: ArgumentHelp("Write a signed open request for the holders to approve, and stop.", valueName: "file"),
                completion: .file())
        var requestOut: String?
        @Option(help: ArgumentHelp("Complete the open from this request (made with --request-out)…", valueName: "file"), completion: .file())
        var request: String?
        @Option(help: ArgumentHelp("…and this holder's approval of it (repeatable).", valueName: "file"), completion: .file()) var approval: [String] = []
        @OptionGroup var overwrite: ForceOption

        func validate() throws {
            if requestOut != nil && (request != nil || !approval.isEmpty || !holders.with.isEmpty) {
                throw ValidationError("--request-out only writes the request: give --request, --approval and --with when completing it")
            }
            if !approval.isEmpty && request == nil { throw ValidationError("--approval goes with --request FILE") }
            if overwrite.force && requestOut == nil { throw ValidationError("--force goes with --request-out FILE") }
        }

        func run() throws {
            try Output.checkWritable(requestOut, force: overwrite.force, option: "--request-out")
            let (vault, actor) = try global.authenticate(action: "round.open", target: "round/\(id)")
            if let requestOut {
                let r = try vault.makeOpenRequest(id, actor: actor)
                try Output.writeFile(r.bytes, to: requestOut, force: overwrite.force, option: "--request-out")
                if global.json {
                    Output.json(.object(["round": .string(id), "request": .string(requestOut), "panel": .ids(r.round.panel),
                                         "threshold": .int(r.threshold), "holders": .ids(r.holders),
                                         "fingerprint": .string(actor.principal.publicKeys.fingerprint.description)]))
                }
                Output.notice("wrote the open request for round \(id) to \(requestOut): panel \(r.round.panel.map(\.rawValue).joined(separator: ", ")); it needs \(r.threshold) of \(r.holders.map(\.rawValue).joined(separator: ", ")) to approve")
                Output.notice("each holder runs `evalvault approve \((requestOut as NSString).lastPathComponent) --as ID --key KEY --out ID.approval` and compares your fingerprint \(actor.principal.publicKeys.fingerprint) by voice; then: evalvault round open \(id) --request \(requestOut) --approval FILE…")
                return
            }
            let coHolders = try holders.authenticate(in: vault, action: "round.open", target: "round/\(id)", round: id, actor: actor)
            let r: Round
            if let request {
                r = try vault.openRound(request: try Files.read(request, what: "open request", limit: RequestFile.maxFileSize), file: request,
                                        approvals: try approval.map { (try Files.read($0, what: "approval", limit: ApprovalFile.maxFileSize), $0) },
                                        actor: actor, coHolders: coHolders, expectedRound: id)
            } else {
                r = try vault.openRound(id, actor: actor, coHolders: coHolders)
            }
            if global.json {
                Output.json(.object(["round": .string(id), "state": .string(r.state.rawValue), "policy_version": .optional(r.policyVersion),
                                     "panel": .ids(r.panel), "threshold": .int(r.config.reveal.threshold), "holders": .ids(r.config.reveal.holders)]))
            }
            Output.notice("opened round \(id) under policy version \(r.policyVersion ?? 0); panel: \(r.panel.map(\.rawValue).joined(separator: ", ")); reveal needs \(r.config.reveal.threshold) of \(r.config.reveal.holders.map(\.rawValue).joined(separator: ", "))")
        }
    }

    struct Close: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a round: nothing more can be sealed; a checkpoint is signed (chair).",
            discussion: "Example:\n  evalvault round close 2025-R1 --as chair")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The round id.", completion: IDCompletion.rounds) var id: String

        func run() throws {
            let (vault, actor) = try global.authenticate(action: "round.close", target: "round/\(id)")
            let (r, note) = try vault.closeRound(id, actor: actor)
            if global.json {
                Output.json(.object(["round": .string(id), "state": .string(r.state.rawValue), "checkpoint": AuditCommand.json(note.checkpoint)]))
            }
            Output.notice("closed round \(id); audit checkpoint at \(note.checkpoint.size) entries")
        }
    }

    struct Shred: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Destroy a closed round's key for good: its seals can never be opened again (chair).",
            discussion: """
                Deletes every wrap and share of the round's private key, zeroing the pages they used, and records it in the audit log. Published results and the audit log stay. There is no undo.

                Example:
                  evalvault round shred 2025-R1 --as chair
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The round id.", completion: IDCompletion.rounds) var id: String

        func run() throws {
            let (vault, actor) = try global.authenticate(action: "round.shred", target: "round/\(id)")
            let n = try vault.shredRound(id, actor: actor)
            if global.json { Output.json(.object(["round": .string(id), "state": .string(RoundState.shredded.rawValue), "wraps_destroyed": .int(n)])) }
            Output.notice("shredded round \(id): \(n) key wrap\(n == 1 ? "" : "s") destroyed; its seals can never be opened again")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List rounds with their state.",
            discussion: "Example:\n  evalvault round list")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let vault = try global.openVault()
            let rounds = try vault.listRounds(claimedActor: global.actor)
            // The same names in the table and the JSON; the counts are numbers in the JSON.
            let columns = ["round", "state", "teams", "criteria", "threshold", "holders", "batches", "scores"]
            let rows: [[JSONValue]] = try rounds.map { r in
                let c = try vault.sealCounts(r.id)
                return [.string(r.id), .string(r.state.rawValue), .int(r.config.teams.count), .int(r.config.criteria.count),
                        .int(r.config.reveal.threshold), .int(r.config.reveal.holders.count), .int(c.batches), .int(c.scores)]
            }
            if global.json {
                Output.json(.array(rows.map { .object(Dictionary(uniqueKeysWithValues: zip(columns, $0))) }))
            } else {
                Output.table(columns, rows.map { $0.map(\.cell) })
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a round: teams, criteria and weights, state, reveal holders, declared reveals, counts.",
            discussion: "Example:\n  evalvault round show 2025-R1")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The round id.", completion: IDCompletion.rounds) var id: String

        func run() throws {
            let vault = try global.openVault()
            let r = try vault.showRound(id, claimedActor: global.actor)
            let c = try vault.sealCounts(id)
            let criteriaColumns = ["criterion", "title", "weight", "min", "max", "step"]
            // A tally round's key, once its ceremony is recorded (checked again as it is read).
            let jointKey = try r.ceremonyRecord().map { Hex.encode($0.jointKey.encoded(compressed: true)) }
            let criteria = r.config.criteria.map { [$0.id, $0.title, $0.weight.description, $0.min.description, $0.max.description, $0.step.description] }
            if global.json {
                Output.json(.object([
                    "round": .string(r.id), "title": .string(r.config.title), "state": .string(r.state.rawValue),
                    "policy_version": .optional(r.policyVersion), "teams": .strings(r.config.teams),
                    "threshold": .int(r.config.reveal.threshold), "holders": .ids(r.config.reveal.holders),
                    // The panel: fixed when the round opens; before, the round file's list (or null: every enrolled evaluator).
                    "panel": r.state == .draft ? (r.config.panel.map { .ids($0) } ?? .null) : .ids(r.panel),
                    "publish": .array(r.config.publish.map(\.canonicalJSON)), "batches": .int(c.batches), "scores": .int(c.scores),
                    "criteria": .array(criteria.map { .object(Dictionary(uniqueKeysWithValues: zip(criteriaColumns, $0.map(JSONValue.string)))) }),
                    "mode": .string(r.config.mode.rawValue),
                    "joint_key": jointKey.map { .string($0) } ?? .null,
                ]))
                return
            }
            Output.line("round \(r.id): \(r.config.title)")
            Output.line("state: \(r.state.rawValue)\(r.policyVersion.map { ", governed by policy version \($0) (the version it opened under)" } ?? ", governed by the policy in force until it opens")")
            Output.line("teams: \(r.config.teams.joined(separator: ", "))")
            if r.config.mode == .tally {
                Output.line("mode: tally (only cell totals are ever decrypted); " + (jointKey.map { "joint key \($0)" } ?? "key ceremony not finished"))
            }
            Output.line("reveal: \(r.config.reveal.threshold) of \(r.config.reveal.holders.map(\.rawValue).joined(separator: ", "))")
            Output.line("panel: \(r.state == .draft ? (r.config.panel.map { $0.map(\.rawValue).joined(separator: ", ") + " (fixed when it opens)" } ?? "the enrolled evaluators when it opens") : r.panel.map(\.rawValue).joined(separator: ", "))")
            Output.line("publishes: \(r.config.publish.isEmpty ? "nothing declared" : "\(r.config.publish.count) declared reveal\(r.config.publish.count == 1 ? "" : "s")")")
            for d in r.config.publish { Output.line("  \(d.description)") }
            Output.line("sealed: \(c.scores) scores in \(c.batches) batches")
            Output.line("")
            Output.table(criteriaColumns, criteria)
        }
    }

    struct Publish: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the signed round descriptor evaluators seal against on their own machines (chair).",
            discussion: """
                The descriptor holds what sealing needs and nothing secret: the vault id, the round (teams, criteria, declared reveals, holders, threshold, public key, panel with each member's signing key and declared conflicts), the policy that governs it, your public keys and a checkpoint of the log, all signed by you. Send it to each evaluator on the panel; tell them your fingerprint by voice.

                Example:
                  evalvault round publish 2025-R1 --as chair --out 2025-R1.round
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The round id.", completion: IDCompletion.rounds) var id: String
        @Option(help: ArgumentHelp("The descriptor file to write.", valueName: "file"), completion: .file()) var out: String
        @OptionGroup var overwrite: ForceOption

        func run() throws {
            try Output.checkWritable(out, force: overwrite.force)
            let (vault, actor) = try global.authenticate(action: "round.publish", target: "round/\(id)")
            let bytes = try vault.publishRound(id, actor: actor)
            try Output.writeFile(bytes, to: out, force: overwrite.force)
            if global.json {
                Output.json(.object(["round": .string(id), "file": .string(out), "fingerprint": .string(actor.principal.publicKeys.fingerprint.description)]))
            }
            Output.notice("wrote \(out): the descriptor of round \(id) for evaluators (chair fingerprint \(actor.principal.publicKeys.fingerprint))")
        }
    }
}
