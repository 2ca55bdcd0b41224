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

        static func int(_ n: Int) -> JSONValue { .integer(Int64(n)) }

        static func range(_ low: Int, _ high: Int) -> String { low == high ? String(low) : "\(low)-\(high)" }

        func run() throws {
            let (vault, actor) = try global.authenticate(action: "round.status", target: "round/\(id)")
            let s = try vault.roundStatus(id, actor: actor)
            if missing { return printMissing(s) }
            if global.json {
                Output.json(.object([
                    "round": .string(s.round), "state": .string(s.state.rawValue), "criteria": Self.int(s.criteria), "expected": Self.int(s.expected),
                    "sealed_at_least": Self.int(s.sealedAtLeast), "sealed_at_most": Self.int(s.sealedAtMost),
                    "evaluators": .array(s.evaluators.map { e in .object([
                        "id": .string(e.id.rawValue), "enabled": .bool(e.enabled), "expected": Self.int(e.expected),
                        "sealed_at_least": Self.int(e.sealedAtLeast), "sealed_at_most": Self.int(e.sealedAtMost),
                        "batches": Self.int(e.batches), "scores": Self.int(e.scores), "done": .bool(e.done),
                    ]) }),
                    "teams": .array(s.teams.map { t in .object([
                        "team": .string(t.team), "evaluators": Self.int(t.evaluators), "expected": Self.int(t.expected),
                        "sealed_at_least": Self.int(t.sealedAtLeast), "sealed_at_most": Self.int(t.sealedAtMost),
                    ]) }),
                ]))
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
            if global.json {
                Output.json(.object([
                    "round": .string(s.round), "state": .string(s.state.rawValue),
                    "missing": .array(s.missing.map { e in
                        var o: [String: JSONValue] = ["id": .string(e.id.rawValue), "enabled": .bool(e.enabled), "expected": Self.int(e.expected),
                                                      "owes_at_least": Self.int(e.owesAtLeast), "owes_at_most": Self.int(e.owesAtMost)]
                        // The teams it owes places for, when the log shows it has sealed nothing.
                        if e.batches == 0 { o["teams"] = .array(e.teams.map { .string($0) }) }
                        return .object(o)
                    }),
                ]))
                return
            }
            guard !s.evaluators.isEmpty else {
                Output.line("round \(s.round) (\(s.state.rawValue)): no panel yet; it is fixed when the round opens")
                return
            }
            guard !s.missing.isEmpty else {
                Output.line("round \(s.round) (\(s.state.rawValue)): every evaluator on the panel has sealed every place it owes")
                return
            }
            for e in s.missing {
                let disabled = e.enabled ? "" : " (disabled)"
                if e.batches == 0 {
                    Output.line("\(e.id)\(disabled) owes all \(e.expected) places: nothing sealed yet (teams \(e.teams.joined(separator: ", ")), \(s.criteria) criteria each)")
                } else if e.owesAtLeast == e.owesAtMost {
                    Output.line("\(e.id)\(disabled) owes \(e.owesAtMost) of \(e.expected) places")
                } else {
                    Output.line("\(e.id)\(disabled) owes \(e.owesAtLeast == 0 ? "up to \(e.owesAtMost)" : "\(e.owesAtLeast) to \(e.owesAtMost)") of \(e.expected) places (its \(e.scores) scores in \(e.batches) batches may re-seal some)")
                }
            }
        }
    }
}
