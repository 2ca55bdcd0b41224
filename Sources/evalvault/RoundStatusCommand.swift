import ArgumentParser
import Foundation
import VaultCore

/// `round status R [--missing]`: who is done sealing, from the signed log's counts.
extension RoundCommand {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show who is done sealing: per evaluator and per team, places sealed of places owed. Never a score.",
            discussion: """
                An evaluator owes every (team, criterion) of the round but the teams it declares a conflict with. Places are inside each batch's encryption, so the counts come from the signed log's batch sizes: an evaluator has sealed at least as many places as its largest batch and at most as many as all its batches hold (re-sealing a place counts again). Where the two differ the count is shown as a range, such as 12-20; a single batch holding everything it owes proves it done. Per team the same bounds are summed. Allowed by the default policy to the chair, committee members and auditors; audited.

                Examples:
                  evalvault round status 2025-R1 --as chair
                  evalvault round status 2025-R1 --as chair --missing
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The round id.") var id: String
        @Flag(help: "List only who still owes places, and how many.") var missing = false

        struct EvaluatorRow: Encodable {
            let id: String; let enabled: Bool; let expected: Int; let sealed_at_least: Int; let sealed_at_most: Int
            let batches: Int; let scores: Int; let done: Bool
        }
        struct TeamRow: Encodable { let team: String; let evaluators: Int; let expected: Int; let sealed_at_least: Int; let sealed_at_most: Int }
        struct Report: Encodable {
            let round: String; let state: String; let criteria: Int; let expected: Int; let sealed_at_least: Int; let sealed_at_most: Int
            let evaluators: [EvaluatorRow]; let teams: [TeamRow]
        }
        struct MissingRow: Encodable {
            let id: String; let enabled: Bool; let expected: Int; let owes_at_least: Int; let owes_at_most: Int
            /// The teams it owes places for, when the log shows it has sealed nothing.
            let teams: [String]?
        }
        struct MissingReport: Encodable { let round: String; let state: String; let missing: [MissingRow] }

        static func range(_ low: Int, _ high: Int) -> String { low == high ? String(low) : "\(low)-\(high)" }

        func run() throws {
            let (vault, actor) = try global.authenticate(action: "round.status", target: "round/\(id)")
            let s = try vault.roundStatus(id, actor: actor)
            if missing { return printMissing(s) }
            if global.json {
                Output.json(Report(round: s.round, state: s.state.rawValue, criteria: s.criteria, expected: s.expected,
                                   sealed_at_least: s.sealedAtLeast, sealed_at_most: s.sealedAtMost,
                                   evaluators: s.evaluators.map { EvaluatorRow(id: $0.id.rawValue, enabled: $0.enabled, expected: $0.expected,
                                                                               sealed_at_least: $0.sealedAtLeast, sealed_at_most: $0.sealedAtMost,
                                                                               batches: $0.batches, scores: $0.scores, done: $0.done) },
                                   teams: s.teams.map { TeamRow(team: $0.team, evaluators: $0.evaluators, expected: $0.expected,
                                                                sealed_at_least: $0.sealedAtLeast, sealed_at_most: $0.sealedAtMost) }))
                return
            }
            guard !s.evaluators.isEmpty else {
                Output.line("round \(s.round) (\(s.state.rawValue)): no panel yet; it is fixed when the round opens")
                return
            }
            let done = s.evaluators.count - s.missing.count
            Output.line("round \(s.round) (\(s.state.rawValue)): \(done) of \(s.evaluators.count) evaluators done; \(Self.range(s.sealedAtLeast, s.sealedAtMost)) of \(s.expected) places sealed")
            Output.line("")
            Output.table(["evaluator", "expected", "sealed", "batches", "scores", "status"], s.evaluators.map { e in
                let status = e.done ? "done" : e.owesAtLeast == e.owesAtMost ? "owes \(e.owesAtMost)" : "owes \(e.owesAtLeast)-\(e.owesAtMost)"
                return [e.id.rawValue, String(e.expected), Self.range(e.sealedAtLeast, e.sealedAtMost), String(e.batches), String(e.scores),
                        status + (e.enabled ? "" : " (disabled)")]
            })
            Output.line("")
            Output.table(["team", "evaluators", "expected", "sealed"], s.teams.map {
                [$0.team, String($0.evaluators), String($0.expected), Self.range($0.sealedAtLeast, $0.sealedAtMost)]
            })
            if s.evaluators.contains(where: { $0.sealedAtLeast != $0.sealedAtMost }) {
                Output.line("")
                Output.line("a range such as 12-20: re-sealed places count again in the log, and which places a batch holds only the round key can tell")
            }
        }

        func printMissing(_ s: RoundStatus) {
            let rows = s.missing.map { e in
                MissingRow(id: e.id.rawValue, enabled: e.enabled, expected: e.expected, owes_at_least: e.owesAtLeast, owes_at_most: e.owesAtMost,
                           teams: e.batches == 0 ? e.teams : nil)
            }
            if global.json { Output.json(MissingReport(round: s.round, state: s.state.rawValue, missing: rows)); return }
            guard !s.evaluators.isEmpty else {
                Output.line("round \(s.round) (\(s.state.rawValue)): no panel yet; it is fixed when the round opens")
                return
            }
            guard !rows.isEmpty else {
                Output.line("round \(s.round) (\(s.state.rawValue)): every evaluator on the panel has sealed every place it owes")
                return
            }
            for (r, e) in zip(rows, s.missing) {
                let disabled = r.enabled ? "" : " (disabled)"
                if let teams = r.teams {
                    Output.line("\(r.id)\(disabled) owes all \(r.expected) places: nothing sealed yet (teams \(teams.joined(separator: ", ")), \(s.criteria) criteria each)")
                } else if r.owes_at_least == r.owes_at_most {
                    Output.line("\(r.id)\(disabled) owes \(r.owes_at_most) of \(r.expected) places")
                } else {
                    Output.line("\(r.id)\(disabled) owes \(r.owes_at_least == 0 ? "up to \(r.owes_at_most)" : "\(r.owes_at_least) to \(r.owes_at_most)") of \(r.expected) places (its \(e.scores) scores in \(e.batches) batches may re-seal some)")
                }
            }
        }
    }
}
