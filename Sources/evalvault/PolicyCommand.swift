import ArgumentParser
import Foundation
import VaultCore

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Check, test, apply, show and explain policies.",
        discussion: """
            Examples:
              evalvault policy check Policies/default.policy
              evalvault policy explain --as chair --action reveal --stat mean \\
                  --by team --declared true --holders 2
            """,
        subcommands: [Check.self, Test.self, Apply.self, Show.self, Explain.self]
    )

    static func load(_ path: String) throws -> PolicySet {
        try PolicySet.load(try Files.read(path, what: "policy file"), fileName: path)
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse and validate a policy file; errors are reported as file:line:column.",
            discussion: "Example:\n  evalvault policy check Policies/default.policy")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The policy file.", completion: .file(extensions: ["policy"])) var file: String

        func run() throws {
            let set = try PolicyCommand.load(file)
            if global.json {
                Output.json(.object(["file": .string(file), "ok": .bool(true), "statements": .int(set.policies.count), "sha256": .string(set.sha256Hex)]))
            } else {
                Output.line("\(file): ok, \(set.policies.count) statements, sha256 \(set.sha256Hex)")
            }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a JSON file of request cases against a policy; exits 65 unless all pass.",
            discussion: """
                Each case: {"name", "principal": {"id", "role", "conflicts"}, "action", "resource", "context", "expect": "allow"|"deny", "reasons": [...], "errors": N}; reasons and errors are optional and, when present, must match exactly.

                Example:
                  evalvault policy test Policies/default.policy \\
                      Tests/VaultCoreTests/Policies/default-cases.json
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The policy file.", completion: .file(extensions: ["policy"])) var policy: String
        @Argument(help: "The JSON case file.", completion: .file(extensions: ["json"])) var cases: String

        func run() throws {
            let set = try PolicyCommand.load(policy)
            let list = try PolicyTestCase.parse(try Files.read(cases, what: "case file"), file: cases)
            var failed = 0
            var results: [JSONValue] = []
            for c in list {
                let why = c.mismatch(in: set.evaluate(c.request))
                if why != nil { failed += 1 }
                results.append(.object(["name": .string(c.name), "ok": .bool(why == nil), "why": .optional(why)]))
                if !global.json { Output.line(why.map { "FAIL \(c.name): \($0)" } ?? "ok   \(c.name)") }
            }
            if global.json {
                Output.json(.object(["cases": .int(list.count), "passed": .int(list.count - failed), "failed": .int(failed), "results": .array(results)]))
            } else {
                Output.line("\(list.count - failed) of \(list.count) cases passed")
            }
            if failed > 0 { throw VaultError.invalidData("\(failed) of \(list.count) policy cases failed") }
        }
    }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a policy file the policy in force (chair, under the current policy).",
            discussion: """
                The new version is stored in vault.db, signed by the chair, and audited. Rounds keep the version they opened under. A file that does not load changes nothing.

                Example:
                  evalvault policy apply --as chair Policies/strict.policy
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The policy file.", completion: .file(extensions: ["policy"])) var file: String

        func run() throws {
            let (vault, actor) = try global.authenticate(action: "policy.apply", target: "policy")
            let set: PolicySet
            do { set = try PolicyCommand.load(file) } catch let error as VaultError {
                try vault.recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "policy.apply", target: "policy",
                                                    outcome: .failed, details: ["reason": .string("policy does not load")]),
                                        signer: actor.keys.signing)
                throw error
            }
            let applied = try vault.applyPolicy(set, actor: actor)
            if global.json {
                Output.json(.object(["version": .int(applied), "statements": .int(set.policies.count), "sha256": .string(set.sha256Hex)]))
            } else {
                Output.notice("applied policy version \(applied) (\(set.policies.count) statements, sha256 \(set.sha256Hex))")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the policy in force (or the one governing a round): version, hash and source.",
            discussion: "A round is governed by the policy version it opened under, for good; --round R shows that one.\n\nExamples:\n  evalvault policy show --dir ./vault\n  evalvault policy show --round 2025-R1")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("Show the policy version that governs this round.", valueName: "id"), completion: IDCompletion.rounds) var round: String?

        func run() throws {
            let vault = try global.openVault()
            let current = try vault.showPolicy(claimedActor: global.actor, round: round)
            if global.json {
                Output.json(.object(["version": .int(current.version), "sha256": .string(current.set.sha256Hex), "applied_at": .string(current.appliedAt),
                                     "source": .string(current.set.source), "round": .optional(round)]))
            } else {
                Output.line("policy version \(current.version), applied \(current.appliedAt), sha256 \(current.set.sha256Hex)\(round.map { ", governing round \($0)" } ?? "")")
                Output.line("")
                FileHandle.standardOutput.write(Data(current.set.source.utf8))
            }
        }
    }

    struct Explain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show how the policy in force decides a request for the acting principal, touching no data.",
            discussion: """
                Prints the decision, the determining policy ids, the result of each when/unless clause of every statement whose scope matched, and any evaluation errors. An attribute not given is absent from the request, as it is for actions it does not apply to; a reveal needs --declared (whether the round declares exactly that reveal: see round show).

                Example:
                  evalvault policy explain --as chair --action reveal --round 2025-R1 \\
                      --stat mean --by team --declared true --min-group 3 --holders 2
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "The action, e.g. reveal or seal.", completion: .list(PolicySchema.actions)) var action: String
        @Option(help: ArgumentHelp("A round id (its state and threshold come from the vault).", valueName: "id"), completion: IDCompletion.rounds)
        var round: String?
        @Option(help: "A team id.") var team: String?
        @Option(help: "A criterion id.") var criterion: String?
        @Option(help: "A statistic.") var stat: Statistic?
        @Option(help: "Grouping, comma-separated: team, criterion, evaluator.") var by: Grouping?
        @Option(name: .customLong("min-group"), help: "The smallest number of distinct evaluators in any contributing (team, criterion) cell.") var minGroup: Int?
        @Option(help: ArgumentHelp("Whether the reveal matches one the round declares (true or false).", valueName: "bool")) var declared: Bool?
        @Option(help: "How many reveal holders unlocked their keys.") var holders: Int?
        @Option(help: "A principal the action targets.") var target: String?
        @Option(help: "The stated reason (identity reveal).") var reason: String?

        func run() throws {
            var resource: [String: PolicyValue] = [:]
            var context: [String: PolicyValue] = [:]
            if let team { resource["team"] = .string(team) }
            if let criterion { resource["criterion"] = .string(criterion) }
            if let stat { resource["stat"] = .string(stat.rawValue) }
            if let by { resource["by"] = .list(by.fields.map { .string($0) }) }
            if let minGroup { resource["min_group"] = .long(Int64(minGroup)) }
            if let declared { resource["declared"] = .bool(declared) }
            if let target { resource["target"] = .string(target) }
            if let holders { context["holders"] = .long(Int64(holders)) }
            if let reason { context["reason"] = .string(reason) }
            let vault = try global.openVault()
            let decision = try vault.explain(actor: try global.actorID(), action: action, round: round, resource: resource, context: context)
            if global.json {
                Output.json(ExplainReport.json(decision))
            } else {
                for line in ExplainReport.text(decision) { Output.line(line) }
            }
        }
    }
}

/// The text and machine forms of `policy explain`.
enum ExplainReport {
    static func json(_ d: PolicyDecision) -> JSONValue {
        .object([
            "decision": .string(d.allowed ? "allow" : "deny"),
            "determining": .strings(d.determining),
            "policy_sha256": .string(d.policySHA256),
            "errors": .strings(d.errors.map { "\($0.policyID): \($0.message)" }),
            "statements": .array(d.traces.map { t in
                .object(["id": .string(t.id), "effect": .string(t.effect.rawValue), "satisfied": .bool(t.satisfied),
                         "clauses": .array(t.clauses.map {
                             .object(["kind": .string($0.kind.rawValue), "line": .int($0.line), "result": .string(describe($0.outcome))])
                         })])
            }),
        ])
    }

    static func describe(_ o: PolicyTrace.Outcome) -> String {
        switch o {
        case .true: "true"
        case .false: "false"
        case .error(let m): "error: \(m)"
        }
    }

    static func text(_ d: PolicyDecision) -> [String] {
        var out = ["decision: \(d.allowed ? "allow" : "deny")"]
        out.append("determining: " + (d.determining.isEmpty ? (d.allowed ? "-" : "none (no policy permits this)") : d.determining.joined(separator: ", ")))
        out.append("policy sha256: \(d.policySHA256)")
        out.append("errors: " + (d.errors.isEmpty ? "none" : d.errors.map { "\($0.policyID): \($0.message)" }.joined(separator: "; ")))
        out.append(d.traces.isEmpty ? "no statement's scope matches this request" : "statements whose scope matches:")
        for t in d.traces {
            out.append("  \(t.effect.rawValue) \(t.id): \(t.satisfied ? "satisfied" : "not satisfied")")
            for c in t.clauses { out.append("    \(c.kind.rawValue) (line \(c.line)): \(describe(c.outcome))") }
            if t.clauses.isEmpty { out.append("    (no conditions)") }
        }
        return out
    }
}
