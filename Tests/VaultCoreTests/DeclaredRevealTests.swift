import Foundation
import TestSupport
import Testing
@testable import VaultCore

/// A round file's `[[publish]]` entries: what they accept, the located errors they give, and how
/// they are stored (design: Concepts, Aggregates "Declared reveals", Command line).
@Suite("Declared reveals: round files")
struct PublishFileTests {
    /// RoundFileTests.valid (17 lines) plus three declarations from line 18.
    static let valid = RoundFileTests.valid + """

        [[publish]]
        stat = "mean"
        by = ["team"]
        [[publish]]
        stat = "rank"
        by = ["team"]
        advance = 4
        precision = 3
        [[publish]]
        stat = "trimmed_mean"
        by = ["team", "criterion"]
        trim = 0.1
        """

    @Test("declarations load in file order, with precision 2 unless given")
    func valid() throws {
        let c = try RoundFile.parse(Self.valid, file: "r.toml")
        #expect(c.publish == [DeclaredReveal(stat: .mean, by: ["team"], precision: 2),
                              DeclaredReveal(stat: .rank, by: ["team"], precision: 3, advance: 4),
                              DeclaredReveal(stat: .trimmedMean, by: ["team", "criterion"], precision: 2, trim: Fixed("0.1")!)])
        #expect(c.publish.map(\.description) == ["mean by team at precision 2", "rank by team at precision 3, advance 4",
                                                 "trimmed_mean by team,criterion at precision 2, trim 0.1"])
        #expect(c.declaration(stat: .mean, by: ["team"], precision: 2, advance: nil, trim: nil) != nil)
        #expect(c.declaration(stat: .mean, by: ["team"], precision: 6, advance: nil, trim: nil) == nil, "more places is another reveal")
        #expect(c.declaration(stat: .mean, by: ["team"], precision: 1, advance: nil, trim: nil) == nil, "fewer places too")
        #expect(c.declaration(stat: .rank, by: ["team"], precision: 3, advance: 3, trim: nil) == nil)
        #expect(c.declaration(stat: .rank, by: ["team"], precision: 3, advance: nil, trim: nil) == nil)
        #expect(c.declaration(stat: .trimmedMean, by: ["team", "criterion"], precision: 2, advance: nil, trim: nil) == nil)
        #expect(c.declaration(stat: .trimmedMean, by: ["team", "criterion"], precision: 2, advance: nil, trim: Fixed("0.1")) != nil)
        #expect(c.declaration(stat: .median, by: ["team"], precision: 2, advance: nil, trim: nil) == nil)
    }

    @Test("each invalid declaration is reported with file, line and key", arguments: [
        ("stat = \"mean\"", "stat = \"average\"", "r.toml:19: publish[1].stat: unknown statistic \"average\" (use one of count, mean"),
        ("stat = \"trimmed_mean\"\n", "", "r.toml:26: publish[3].stat: stat is missing"),
        ("stat = \"mean\"\nby = [\"team\"]\n", "stat = \"mean\"\n", "r.toml:18: publish[1].by: by is missing"),
        ("by = [\"team\", \"criterion\"]", "by = [\"criterion\"]", "r.toml:28: publish[3].by: must be [\"team\"] or [\"team\", \"criterion\"]"),
        ("by = [\"team\", \"criterion\"]", "by = [\"team\", \"evaluator\"]", "r.toml:28: publish[3].by: must be [\"team\"] or [\"team\", \"criterion\"]"),
        ("by = [\"team\", \"criterion\"]", "by = \"team\"", "r.toml:28: publish[3].by: must be [\"team\"] or [\"team\", \"criterion\"]"),
        ("stat = \"rank\"\nby = [\"team\"]", "stat = \"rank\"\nby = [\"team\", \"criterion\"]", "r.toml:23: publish[2].by: rank is per team: by = [\"team\"]"),
        ("precision = 3", "precision = 7", "r.toml:25: publish[2].precision: must be a whole number from 0 to 6"),
        ("precision = 3", "precision = -1", "r.toml:25: publish[2].precision: must be a whole number from 0 to 6"),
        ("precision = 3", "precision = 2.5", "r.toml:25: publish[2].precision: must be a whole number from 0 to 6"),
        ("advance = 4", "advance = 0", "r.toml:24: publish[2].advance: must be a whole number, at least 1"),
        ("stat = \"mean\"\n", "stat = \"mean\"\nadvance = 2\n", "r.toml:20: publish[1].advance: goes only with stat = \"rank\""),
        ("trim = 0.1", "trim = 0.5", "r.toml:29: publish[3].trim: must be a fraction from 0 to below 0.5"),
        ("trim = 0.1", "trim = \"0.1\"", "r.toml:29: publish[3].trim: must be a fraction from 0 to below 0.5"),
        ("stat = \"mean\"\n", "stat = \"mean\"\ntrim = 0.1\n", "r.toml:20: publish[1].trim: goes only with stat = \"trimmed_mean\""),
        ("trim = 0.1", "trim = 0.1\nprecison = 2", "r.toml:30: publish[3].precison: unknown key (expected stat, by, precision, advance, trim)"),
        ("trim = 0.1", "trim = 0.1\n[[publish]]\nstat = \"mean\"\nby = [\"team\"]\nprecision = 2",
         "r.toml:30: publish[4]: mean by team at precision 2 is declared twice (first at line 18)"),
    ])
    func invalid(find: String, replace: String, expected: String) {
        #expect(Self.valid.contains(find))
        let e = #expect(throws: VaultError.self) { try RoundFile.parse(Self.valid.replacingOccurrences(of: find, with: replace), file: "r.toml") }
        #expect(e?.exitStatus == .dataError)
        #expect(e?.message.components(separatedBy: "\n").contains { $0.hasPrefix(expected) } == true, "\(e?.message ?? "")")
    }

    @Test("publish must be [[publish]] tables")
    func notTables() {
        let text = RoundFileTests.valid + "\n[publish]\nstat = \"mean\"\nby = [\"team\"]\n"
        let e = #expect(throws: VaultError.self) { try RoundFile.parse(text, file: "r.toml") }
        #expect(e?.message.contains("r.toml:18: publish: must be [[publish]] tables, one per declared reveal (found a table)") == true, "\(e?.message ?? "")")
    }

    @Test("stored canonically and read back; a definition without declarations encodes as before and reads as none")
    func canonical() throws {
        let c = try RoundFile.parse(Self.valid, file: "r.toml")
        let json = CanonicalJSON.string(c.canonicalJSON)
        #expect(json.contains(#""publish":[{"by":["team"],"precision":2,"stat":"mean"},{"advance":4,"by":["team"],"precision":3,"stat":"rank"},{"by":["team","criterion"],"precision":2,"stat":"trimmed_mean","trim":"0.1"}]"#))
        #expect(try RoundConfig(canonical: JSONParser.parse(Array(json.utf8))) == c)
        // Without [[publish]]: no "publish" member at all, so a round stored before declared
        // reveals re-encodes to the bytes its chair signed.
        let plain = try RoundFile.parse(RoundFileTests.valid, file: "r.toml")
        #expect(plain.publish.isEmpty && !CanonicalJSON.string(plain.canonicalJSON).contains("publish"))
        #expect(try RoundConfig(canonical: JSONParser.parse(Array(CanonicalJSON.string(plain.canonicalJSON).utf8))) == plain)
        // A malformed stored declaration is an integrity error, not a silent "declares nothing".
        for bad in [#""publish":3"#, #""publish":[{"stat":"mean"}]"#, #""publish":[{"by":["team"],"precision":2,"stat":"average"}]"#] {
            let text = json.replacingOccurrences(of: #""publish":[{"by":["team"],"precision":2,"stat":"mean"},"#, with: bad + #","publish_rest":["#)
            #expect(throws: VaultError.self) { try RoundConfig(canonical: JSONParser.parse(Array(text.utf8))) }
        }
    }

    @Test("the round a vault stores keeps its declarations, signed")
    func stored() throws {
        let f = try RoundFixture()
        try f.makeRound()
        let r = try f.vault.round("R1", verifiedWith: try f.actor("chair").chairKey)
        #expect(r.config.publish.count == 5 && r.config.publish[0] == DeclaredReveal(stat: .mean, by: ["team"]))
    }
}

/// Reveals under the default policy: only declared ones, and only when every contributing
/// (team, criterion) cell reaches the minimum (design: Aggregates, Policy language).
@Suite("Declared reveals and the per-cell minimum", .serialized)
struct DeclaredRevealTests {
    static func reveal(_ f: RoundFixture, _ stat: Statistic, by: [String] = ["team"], precision: Int = 2, advance: Int? = nil,
                       trim: String? = nil, format: RevealFormat = .json, with: [String] = []) throws -> RevealOutcome {
        try f.vault.reveal(RevealRequest(round: "R1", stat: stat, by: by, trim: trim.flatMap(Fixed.init), advance: advance, precision: precision,
                                         format: format),
                           actor: try f.actor("chair"), coHolders: try with.map { try f.actor($0) }, publish: false)
    }

    static func lastEntry(_ f: RoundFixture) throws -> JSONValue {
        let s = try f.vault.database.prepare("SELECT entry FROM audit_log ORDER BY seq DESC LIMIT 1")
        #expect(try s.step())
        return try JSONParser.parse(s.blob(0))
    }

    /// Every evaluator but ev-2 scores every cell; ev-2 (conflicted with upstage) adds
    /// naver-cloud/performance. Cells hold 3, except naver-cloud/performance with 4.
    static func fixture(publish: String = RoundFixture.declared, policy: String? = nil, threshold: Int = 1) throws -> RoundFixture {
        let f = try RoundFixture()
        if let policy { _ = try f.vault.applyPolicy(try PolicySet(source: policy, fileName: "p"), actor: try f.actor("chair")) }
        try f.makeRound(holders: threshold == 1 ? ["chair"] : ["chair", "cm-1"], threshold: threshold, publish: publish)
        for (i, ev) in ["ev-1", "ev-3", "ev-4"].enumerated() {
            try f.seal(ev, RoundFixture.teams.flatMap { [($0, "performance", String(40 + 10 * i)), ($0, "safety", String(2 + i))] })
        }
        try f.seal("ev-2", [("naver-cloud", "performance", "90")])
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        return f
    }

    @Test("a declared reveal is allowed; repeated, it gives the same bytes; the audit entry says it was declared")
    func declaredRepeats() throws {
        let f = try Self.fixture()
        for format in RevealFormat.allCases {
            let a = try Self.reveal(f, .mean, format: format)
            let b = try Self.reveal(f, .mean, format: format)
            #expect(a.output == b.output && !a.output.isEmpty)
            #expect(try Self.lastEntry(f)["details"]?["declared"] == .bool(true))
        }
        let w1 = try Self.reveal(f, .weightedTotal), w2 = try Self.reveal(f, .weightedTotal)
        #expect(w1.output == w2.output)
        let r1 = try Self.reveal(f, .rank, advance: 2, format: .csv), r2 = try Self.reveal(f, .rank, advance: 2, format: .csv)
        #expect(r1.output == r2.output)
    }

    @Test("n of a group is its smallest contributing cell; count still counts the team's evaluators")
    func nIsSmallestCell() throws {
        let f = try Self.fixture(publish: RoundFixture.declared + "\n[[publish]]\nstat = \"count\"\nby = [\"team\"]\n")
        let mean = try Self.reveal(f, .mean)
        // naver-cloud: performance 4 evaluators, safety 3 → n 3 (was 4, its distinct evaluators).
        #expect(mean.result.groups.map(\.n) == [3, 3, 3] && mean.result.minGroup == 3)
        #expect(mean.result.cells.first == AggregateCell(team: "naver-cloud", criterion: "performance", n: 4))
        let count = try Self.reveal(f, .count)
        let naver = try #require(count.result.groups.first { $0.team == "naver-cloud" })
        #expect(naver.n == 3 && naver.value == "4")
        let cell = try Self.reveal(f, .mean, by: ["team", "criterion"])
        #expect(cell.result.groups.first { $0.team == "naver-cloud" && $0.criterion == "performance" }?.n == 4)
    }

    @Test("undeclared: another statistic, more or fewer places, another advance: denied by reveal-only-declared, saying what is declared")
    func undeclared() throws {
        let f = try Self.fixture()
        let six = #expect(throws: VaultError.self) { try Self.reveal(f, .mean, precision: 6) }
        #expect(six == .denied(policyIDs: ["reveal-only-declared"], reason: "round R1 declares mean by team at precision 2; this request asks precision 6"))
        #expect(six?.message == "denied by policy reveal-only-declared: round R1 declares mean by team at precision 2; this request asks precision 6")
        #expect(six?.exitStatus == .noPermission)
        let entry = try Self.lastEntry(f)
        #expect(entry["outcome"] == .string("denied") && entry["details"]?["declared"] == .bool(false) && entry["details"]?["min_group"] == nil)
        #expect(entry["policies"] == .array([.string("reveal-only-declared")]))

        let fewer = #expect(throws: VaultError.self) { try Self.reveal(f, .mean, precision: 1) }
        #expect(fewer?.message.hasSuffix("this request asks precision 1") == true)
        let advance = #expect(throws: VaultError.self) { try Self.reveal(f, .rank, advance: 3) }
        #expect(advance?.message == "denied by policy reveal-only-declared: round R1 declares rank by team at precision 2, advance 1; this request asks advance 3")
        let median = #expect(throws: VaultError.self) { try Self.reveal(f, .median) }
        #expect(median?.message.hasPrefix("denied by policy reveal-only-declared: round R1 does not declare median by team (it declares: mean by team at precision 2; ") == true,
                "\(median?.message ?? "")")
        // min/max/stddev: no permit, and undeclared.
        let max = #expect(throws: VaultError.self) { try Self.reveal(f, .max) }
        #expect(max?.message.hasPrefix("denied by policy reveal-only-declared: round R1 does not declare max by team") == true)

        // A round that declares nothing can publish nothing.
        let g = try Self.fixture(publish: "")
        let none = #expect(throws: VaultError.self) { try Self.reveal(g, .mean) }
        #expect(none?.message == "denied by policy reveal-only-declared: round R1 declares no reveals; this request asks mean by team at precision 2")
    }

    @Test("undeclared and short of holders: both rules named, with what the round declares")
    func undeclaredAndThreshold() throws {
        let f = try Self.fixture(threshold: 2)
        let e = #expect(throws: VaultError.self) { try Self.reveal(f, .mean, precision: 3) }
        #expect(e == .denied(policyIDs: ["reveal-needs-threshold", "reveal-only-declared"],
                             reason: "round R1 declares mean by team at precision 2; this request asks precision 3"))
        // Declared but short of holders: no reason about declarations; the holders' count instead.
        #expect(throws: VaultError.denied(policyIDs: ["reveal-needs-threshold"], reason: "round R1 needs 2 of its reveal holders to take part; 1 did")) {
            try Self.reveal(f, .mean)
        }
        #expect(try Self.reveal(f, .mean, with: ["cm-1"]).result.groups.count == 3)
    }

    @Test("a policy that ignores declarations is not given a declaration reason")
    func policyWithoutDeclarations() throws {
        let f = try Self.fixture(policy: """
            @id("all") permit (principal in Role::"chair", action, resource);
            @id("no-median") forbid (principal, action == Action::"reveal", resource) when { resource has stat && resource.stat == "median" };
            @id("evaluators-seal") permit (principal in Role::"evaluator", action == Action::"seal", resource);
            """)
        #expect(try Self.reveal(f, .mean, precision: 6).result.groups.count == 3, "undeclared, but this policy allows it")
        #expect(throws: VaultError.denied(policyIDs: ["no-median"])) { try Self.reveal(f, .median) }
    }

    /// Cells below 3: upstage/safety has 2 (ev-4 did not score it) and sk-telecom/performance 2
    /// (ev-3 did not). sk-telecom comes first by id, upstage first in the round's team order.
    static func shortFixture(policy: String? = nil) throws -> RoundFixture {
        let f = try RoundFixture()
        if let policy { _ = try f.vault.applyPolicy(try PolicySet(source: policy, fileName: "p"), actor: try f.actor("chair")) }
        try f.makeRound()
        for ev in ["ev-1", "ev-3", "ev-4"] {
            var rows = RoundFixture.teams.flatMap { [($0, "performance", "50"), ($0, "safety", "3")] }
            if ev == "ev-4" { rows.removeAll { $0.0 == "upstage" && $0.1 == "safety" } }
            if ev == "ev-3" { rows.removeAll { $0.0 == "sk-telecom" && $0.1 == "performance" } }
            try f.seal(ev, rows)
        }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        return f
    }

    @Test("every statistic and grouping is refused when a contributing cell is short, naming the first such cell in round order",
          arguments: [(Statistic.mean, ["team"], nil as Int?), (.mean, ["team", "criterion"], nil), (.weightedTotal, ["team"], nil), (.rank, ["team"], 2)])
    func shortCell(stat: Statistic, by: [String], advance: Int?) throws {
        let f = try Self.shortFixture()
        let e = #expect(throws: VaultError.self) { try Self.reveal(f, stat, by: by, advance: advance) }
        // Every team had 3 distinct evaluators: the team-wide count used to let mean by team through.
        #expect(e == .denied(policyIDs: ["reveal-min-group-3"], reason: "upstage/safety: 2 evaluators, the policy needs 3"))
        #expect(e?.message == "denied by policy reveal-min-group-3: upstage/safety: 2 evaluators, the policy needs 3")
        #expect(e?.exitStatus == .noPermission)
        let entry = try Self.lastEntry(f)
        #expect(entry["outcome"] == .string("denied") && entry["details"]?["min_group"] == .integer(2))
        #expect(entry["details"]?["reason"] == .string("upstage/safety: 2 evaluators, the policy needs 3"))
        #expect(entry["details"]?["output_sha256"] == nil)
    }

    @Test("the policy's own minimum is the one named")
    func policyMinimum() throws {
        let stricter = DefaultPolicy.source.replacingOccurrences(of: "resource.min_group < 3", with: "resource.min_group < 5")
        #expect(stricter != DefaultPolicy.source)
        let f = try Self.shortFixture(policy: stricter)
        let e = #expect(throws: VaultError.self) { try Self.reveal(f, .mean) }
        // naver-cloud (first in the round) has 3 in each cell: too few for 5.
        #expect(e?.message == "denied by policy reveal-min-group-3: naver-cloud/performance: 3 evaluators, the policy needs 5")
    }
}
