import Foundation
import TestSupport
import Testing
@testable import VaultCore

/// Design invariant 13: no individual score can be worked out from the reveals a round permits.
///
/// The attack this guards against ("cells of one"): three criteria on different scales, each
/// expert scoring one criterion per team. Every team has 3 distinct evaluators, but every
/// (team, criterion) cell holds one score, so `mean --by team --precision 6` is one equation per
/// team whose only solution on the grids is the three scores. The checks below work the
/// arithmetic out independently of the code under test (integers and brute force over the grids).
@Suite("Inference: no single score from permitted reveals", .serialized)
struct InferenceTests {
    static let evaluators = ["ev-1", "ev-3", "ev-4"]  // ev-2 is conflicted with upstage
    static let teams = RoundFixture.teams                // naver-cloud, upstage, sk-telecom
    /// accuracy 0–100, robustness 0–7, docs 1–4, all in steps of 1: (id, min, steps).
    static let criteria: [(id: String, min: Int, steps: Int)] = [("accuracy", 0, 100), ("robustness", 0, 7), ("docs", 1, 3)]

    static func roundFile(_ id: String, publish: [(Statistic, [String], Int, Int?)]) -> String {
        var text = "id = \"\(id)\"\nteams = [\(teams.map { "\"\($0)\"" }.joined(separator: ", "))]\n[reveal]\nholders = [\"chair\"]\nthreshold = 1\n"
        for c in criteria { text += "[[criteria]]\nid = \"\(c.id)\"\nweight = 1\nmin = \(c.min)\nmax = \(c.min + c.steps)\nstep = 1\n" }
        for (stat, by, precision, advance) in publish {
            text += "[[publish]]\nstat = \"\(stat.rawValue)\"\nby = [\(by.map { "\"\($0)\"" }.joined(separator: ", "))]\nprecision = \(precision)\n"
            if let advance { text += "advance = \(advance)\n" }
        }
        return text
    }

    /// Creates, opens, fills (units per (evaluator, team, criterion); nil = not scored) and closes a round.
    static func round(_ f: RoundFixture, _ id: String, publish: [(Statistic, [String], Int, Int?)], units: (Int, Int, Int) -> Int?) throws {
        let chair = try f.actor("chair")
        try f.vault.createRound(try RoundFile.parse(roundFile(id, publish: publish), file: "\(id).toml"), actor: chair)
        _ = try f.vault.openRound(id, actor: chair)
        for (e, ev) in evaluators.enumerated() {
            var rows: [(String, String, String)] = []
            for (t, team) in teams.enumerated() {
                for (c, criterion) in criteria.enumerated() {
                    if let u = units(e, t, c) { rows.append((team, criterion.id, String(criterion.min + u))) }
                }
            }
            try f.seal(ev, rows, round: id)
        }
        _ = try f.vault.closeRound(id, actor: chair)
    }

    static func reveal(_ f: RoundFixture, _ round: String, _ stat: Statistic, by: [String], precision: Int, advance: Int? = nil) throws -> RevealOutcome {
        try f.vault.reveal(RevealRequest(round: round, stat: stat, by: by, trim: nil, advance: advance, precision: precision, format: .json),
                           actor: try f.actor("chair"), coHolders: [], publish: false)
    }

    /// num/den rounded half to even at `places`, printed as the reveal prints it (num, den ≥ 0).
    static func decimal(_ num: Int, _ den: Int, places: Int) -> String {
        let scale = (0..<places).reduce(1) { a, _ in a * 10 }
        var v = num * scale / den
        let r = num * scale % den
        if 2 * r > den || (2 * r == den && v % 2 == 1) { v += 1 }
        let frac = String(v % scale)
        return places == 0 ? "\(v / scale)" : "\(v / scale)." + String(repeating: "0", count: places - frac.count) + frac
    }

    /// Grouped by team, each score is scaled to 0–100 (100·units/steps): with steps 100, 7 and
    /// 3, Σ scaled = (21·S₁ + 300·S₂ + 700·S₃) / 21 for the unit sums S of the three cells.
    static func teamMean(_ sums: [Int], values: Int, places: Int) -> String {
        decimal(21 * sums[0] + 300 * sums[1] + 700 * sums[2], 21 * values, places: places)
    }

    /// Cells of one: evaluator e scores criterion (e + t) mod 3 of team t, away from the edges of
    /// each grid. (On the edges a few sums coincide: 300·7 = 700·3.)
    static let single: [[Int]] = [[73, 5, 2], [41, 2, 1], [88, 6, 2]]  // units per team, per criterion
    static func cellsOfOne(_ e: Int, _ t: Int, _ c: Int) -> Int? { (e + t) % 3 == c ? single[t][c] : nil }

    /// Every statistic and grouping the default policy permits, each declared.
    static let everyPermitted: [(Statistic, [String], Int, Int?)] = [
        (.mean, ["team"], 6, nil), (.mean, ["team", "criterion"], 2, nil), (.median, ["team"], 2, nil), (.median, ["team", "criterion"], 2, nil),
        (.trimmedMean, ["team"], 2, nil), (.trimmedMean, ["team", "criterion"], 2, nil), (.count, ["team"], 0, nil),
        (.count, ["team", "criterion"], 0, nil), (.weightedTotal, ["team"], 2, nil), (.rank, ["team"], 2, 1),
    ]

    @Test("the attack: each cell holds one score; mean by team at 6 places is declared — and refused (77), naming the first short cell")
    func cellsOfOneRefused() throws {
        let f = try RoundFixture()
        try Self.round(f, "C1", publish: Self.everyPermitted, units: Self.cellsOfOne)
        let e = #expect(throws: VaultError.self) { try Self.reveal(f, "C1", .mean, by: ["team"], precision: 6) }
        #expect(e == .denied(policyIDs: ["reveal-min-group-3"], reason: "naver-cloud/accuracy: 1 evaluator, the policy needs 3"))
        #expect(e?.exitStatus == .noPermission)
        #expect(e?.message == "denied by policy reveal-min-group-3: naver-cloud/accuracy: 1 evaluator, the policy needs 3")

        // Every reveal the default policy could permit on this vault is declared, and none
        // comes out: each is refused for the short cell (trimming a cell of one fails earlier,
        // 65, with nothing printed either).
        for (stat, by, precision, advance) in Self.everyPermitted {
            let e = #expect(throws: VaultError.self, "\(stat) by \(by)") { try Self.reveal(f, "C1", stat, by: by, precision: precision, advance: advance) }
            if stat == .trimmedMean && by.count == 2 {
                #expect(e?.exitStatus == .dataError && e?.message.contains("has only 1") == true, "\(e?.message ?? "")")
            } else {
                #expect(e?.exitStatus == .noPermission && e?.message.hasSuffix("naver-cloud/accuracy: 1 evaluator, the policy needs 3") == true,
                        "\(stat) by \(by): \(e?.message ?? "")")
            }
        }
        // Every team still has three distinct evaluators: the old team-wide count would have let it through.
        let chair = try f.actor("chair")
        let opened = try f.vault.openRound(try f.vault.round("C1", verifiedWith: chair.chairKey),
                                           privateKey: try f.vault.roundPrivateKey(try f.vault.round("C1", verifiedWith: chair.chairKey), holders: [chair]),
                                           chairKey: chair.chairKey)
        for t in Self.teams.indices { #expect(Set(opened.scores.filter { Int($0.team) == t }.map(\.evaluator)).count == 3) }
    }

    @Test("why the refusal matters: where the cells are not counted, that one number per team gives back every score")
    func cellsOfOneAttackWorks() throws {
        // The same vault under a policy that permits any reveal (what the team-wide count amounted to).
        let f = try RoundFixture()
        _ = try f.vault.applyPolicy(try PolicySet(source: """
            @id("all") permit (principal in Role::"chair", action, resource);
            @id("evaluators-seal") permit (principal in Role::"evaluator", action == Action::"seal", resource);
            """, fileName: "all"), actor: try f.actor("chair"))
        try Self.round(f, "C1", publish: [(.mean, ["team"], 6, nil)], units: Self.cellsOfOne)
        let printed = try Self.reveal(f, "C1", .mean, by: ["team"], precision: 6).result.groups
        for (t, team) in Self.teams.enumerated() {
            let value = try #require(printed.first { $0.team == team }?.value)
            #expect(value == Self.teamMean(Self.single[t], values: 3, places: 6), "the independent arithmetic agrees with the reveal")
            // Brute force over the grids: every (accuracy, robustness, docs) that prints this value.
            var solutions: [[Int]] = []
            for a in 0...100 { for r in 0...7 { for d in 0...3 where Self.teamMean([a, r, d], values: 3, places: 6) == value { solutions.append([a, r, d]) } } }
            #expect(solutions == [Self.single[t]], "\(team): one solution, each evaluator's score")
        }
    }

    /// Three scores per cell, away from the edges of the grids (a cell whose three scores are
    /// all the minimum or all the maximum shows them all in its mean: see SECURITY.md, Inference).
    static func full(_ e: Int, _ t: Int, _ c: Int) -> Int? { [50 + 7 * e + 3 * t, 2 + (e + t) % 4, 1 + (e + 2 * t) % 2][c] }

    @Test("three evaluators per cell: both declared reveals are allowed, and every score stays open (brute force over the grids)")
    func fullCellsUndetermined() throws {
        let publish: [(Statistic, [String], Int, Int?)] = [(.mean, ["team"], 6, nil), (.mean, ["team", "criterion"], 2, nil)]
        let f = try RoundFixture()
        try Self.round(f, "C3", publish: publish, units: Self.full)
        let byTeam = try Self.reveal(f, "C3", .mean, by: ["team"], precision: 6)
        let byCell = try Self.reveal(f, "C3", .mean, by: ["team", "criterion"], precision: 2)
        #expect(byTeam.result.minGroup == 3 && byCell.result.groups.allSatisfy { $0.n == 3 })

        for (t, team) in Self.teams.enumerated() {
            let teamValue = try #require(byTeam.result.groups.first { $0.team == team }?.value)
            // Each cell's possible unit sums (0…3·steps) given its printed mean …
            var sums: [[Int]] = []
            for (c, criterion) in Self.criteria.enumerated() {
                let cellValue = try #require(byCell.result.groups.first { $0.team == team && $0.criterion == criterion.id }?.value)
                sums.append((0...3 * criterion.steps).filter { Self.decimal(3 * criterion.min + $0, 3, places: 2) == cellValue })
                #expect(sums[c].contains((0..<3).map { Self.full($0, t, c)! }.reduce(0, +)))
            }
            // … then every combination that also gives the team's mean.
            var feasible: [[Int]] = []
            for a in sums[0] { for r in sums[1] { for d in sums[2] where Self.teamMean([a, r, d], values: 9, places: 6) == teamValue { feasible.append([a, r, d]) } } }
            #expect(!feasible.isEmpty)
            // A single score of this cell may be any v with the other two making up the rest.
            for (c, criterion) in Self.criteria.enumerated() {
                let possible = (0...criterion.steps).filter { v in feasible.contains { (0...2 * criterion.steps).contains($0[c] - v) } }
                #expect(possible.count >= 2, "\(team)/\(criterion.id): a score is determined (\(possible))")
            }
        }

        // Concretely: another assignment (one point moved between two evaluators of a cell)
        // gives byte-identical reveals.
        let g = try RoundFixture()
        try Self.round(g, "C3", publish: publish) { e, t, c in
            let u = Self.full(e, t, c)!
            return t == 0 && c == 0 ? u + [1, -1, 0][e] : u
        }
        #expect(try Self.reveal(g, "C3", .mean, by: ["team"], precision: 6).output == byTeam.output)
        #expect(try Self.reveal(g, "C3", .mean, by: ["team", "criterion"], precision: 2).output == byCell.output)
    }
}
