import Foundation
import VaultCrypto

/// Who is done sealing in a round (`round status R [--missing]`, design: Command line, "Round
/// status"), from what the signed log shows without the round key: each batch's evaluator and how
/// many scores it holds. Never a score, never a place.
///
/// What can be told honestly. A batch's places are inside its encryption, and re-sealing a place
/// supersedes it, so the log's score count is not the number of places sealed. What the counts
/// do prove, for an evaluator whose batches are well formed (no place twice in a batch, only
/// teams and criteria of the round, no declared conflict — the reveal checks every batch):
/// - it has sealed at least as many distinct places as its largest batch holds (a batch never
///   scores a place twice);
/// - it has sealed at most as many as all its batches hold together (and never more than it
///   owes).
/// So each count is a range, exact when the two bounds meet: one batch holding every place it owes
/// proves it done; batches holding fewer scores in all than it owes prove it is not. Per team the
/// same reasoning gives a range: the largest batch holds at least (its size − the places the
/// evaluator owes in other teams) places of this team, and the batches at most min(criteria,
/// their total). Why not exact per team: that needs the places, which only the round key (k of
/// the holders together) can open; the chair cannot, and the status must not need them.
public struct RoundStatus: Sendable {
    /// One panel evaluator's progress.
    public struct Evaluator: Sendable {
        public let id: PrincipalID
        public let enabled: Bool
        /// Places it owes: every (team, criterion) of the round but the teams it declares a conflict with.
        public let expected: Int
        public let batches: Int
        /// Scores its batches hold in all (re-seals included), as the log records them.
        public let scores: Int
        /// Distinct places sealed: at least, at most.
        public let sealedAtLeast: Int
        public let sealedAtMost: Int
        /// The round's teams it owes places for (those it has no conflict with).
        public let teams: [String]

        public var done: Bool { sealedAtLeast >= expected }
        /// Places still owed: at least, at most.
        public var owesAtLeast: Int { expected - sealedAtMost }
        public var owesAtMost: Int { expected - sealedAtLeast }
    }

    /// One team's progress over the whole panel.
    public struct Team: Sendable {
        public let team: String
        /// Panel evaluators who owe this team places (no declared conflict with it).
        public let evaluators: Int
        public let expected: Int
        public let sealedAtLeast: Int
        public let sealedAtMost: Int
    }

    public let round: String
    public let state: RoundState
    public let criteria: Int
    public let evaluators: [Evaluator]
    public let teams: [Team]

    public var expected: Int { evaluators.reduce(0) { $0 + $1.expected } }
    public var sealedAtLeast: Int { evaluators.reduce(0) { $0 + $1.sealedAtLeast } }
    public var sealedAtMost: Int { evaluators.reduce(0) { $0 + $1.sealedAtMost } }
    /// Evaluators that are not proven done.
    public var missing: [Evaluator] { evaluators.filter { !$0.done } }

    /// The ranges from the panel, each member's conflicts, and its batch sizes (see the type). A
    /// conflict declared after the member had sealed into this round (an exemption) takes its team
    /// out of what it owes, but its batches may still hold places of that team: the largest
    /// batch's lower bound is reduced by them.
    static func compute(round: Round, members: [Principal], batchSizes: [PrincipalID: [Int]]) -> RoundStatus {
        let config = round.config, c = config.criteria.count
        var evaluators: [Evaluator] = []
        var teamLow = [Int](repeating: 0, count: config.teams.count), teamHigh = teamLow, teamExpected = teamLow, teamEvaluators = teamLow
        for p in members.sorted(by: { $0.id < $1.id }) {
            let conflicts = Set(p.conflicts)
            let owed = config.teams.filter { !conflicts.contains($0) }
            let expected = owed.count * c
            // Places a batch may hold that the evaluator no longer owes: teams of this round it
            // declared a conflict with after it had sealed into it.
            let outside = p.conflicts.filter { config.teams.contains($0) && (p.conflictExemptions[$0]?.contains(round.id) ?? false) }.count * c
            let sizes = batchSizes[p.id] ?? []
            let total = sizes.reduce(0, +), largest = max(0, (sizes.max() ?? 0) - outside)
            let low = min(largest, expected), high = min(total, expected)
            evaluators.append(Evaluator(id: p.id, enabled: p.enabled, expected: expected, batches: sizes.count, scores: total,
                                        sealedAtLeast: low, sealedAtMost: high, teams: owed))
            for (t, team) in config.teams.enumerated() where !conflicts.contains(team) {
                teamEvaluators[t] += 1
                teamExpected[t] += c
                teamLow[t] += min(c, max(0, largest - (expected - c)))
                teamHigh[t] += min(c, total)
            }
        }
        let teams = config.teams.enumerated().map { t, team in
            Team(team: team, evaluators: teamEvaluators[t], expected: teamExpected[t], sealedAtLeast: teamLow[t], sealedAtMost: teamHigh[t])
        }
        return RoundStatus(round: round.id, state: round.state, criteria: c, evaluators: evaluators, teams: teams)
    }
}

extension Vault {
    /// `round status R`: the progress of the round's panel, decided by the policy that governs the
    /// round (action `round.status`: by default the chair, committee members and auditors) and
    /// audited like any read — the entry holds counts only.
    public func roundStatus(_ roundID: String, actor: Actor) throws -> RoundStatus {
        let action = "round.status", target = "round/\(roundID)"
        let round = try recordingFailure(actor: actor.id.rawValue, action: action, target: target) {
            try self.round(roundID, verifiedWith: actor.chairKey)
        }
        let decision = try authorize(PolicyRequest(principal: Self.attributes(of: actor.principal), action: action,
                                                   resource: ["round": round.policyAttributes]), actor: actor, target: target,
                                     policy: try policy(for: round, chairKey: actor.chairKey).set)
        let status: RoundStatus
        do {
            let members = try principals(round.panel, verifiedWith: actor.chairKey)
            var sizes: [PrincipalID: [Int]] = [:]
            for b in log.batches(ofRound: roundID) {
                guard let e = b.evaluator.flatMap({ try? PrincipalID($0) }), let n = b.count else { continue }
                sizes[e, default: []].append(n)
            }
            status = RoundStatus.compute(round: round, members: members, batchSizes: sizes)
        } catch let error as VaultError {
            try recordAttempt(AuditRecord(actor: actor, action: action, target: target, decision: decision, outcome: .failed,
                                          details: ["exit_status": .integer(Int64(error.exitStatus.rawValue))]), signer: actor.keys.signing)
            throw error
        }
        try write {
            try appendAudit(AuditRecord(actor: actor, action: action, target: target, decision: decision, details: [
                "evaluators": .integer(Int64(status.evaluators.count)), "done": .integer(Int64(status.evaluators.count - status.missing.count)),
                "expected": .integer(Int64(status.expected)), "sealed_at_least": .integer(Int64(status.sealedAtLeast)),
                "sealed_at_most": .integer(Int64(status.sealedAtMost)),
            ]), signer: actor.keys.signing)
        }
        return status
    }
}
