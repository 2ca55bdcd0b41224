import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

/// Known scores, and the statistics computed independently here with Foundation's Decimal
/// (base-10 arithmetic, banker's rounding) — not with the Rational type under test.
enum Known {
    /// (evaluator, team, criterion, score). Criteria: performance 0–100 step 0.5 weight 40;
    /// safety 1–5 step 1 weight 25 (weights sum to 65, not 100). ev-2 is conflicted with upstage.
    static let scores: [(String, String, String, String)] = [
        ("ev-1", "naver-cloud", "performance", "80"), ("ev-2", "naver-cloud", "performance", "70.5"),
        ("ev-3", "naver-cloud", "performance", "90"), ("ev-4", "naver-cloud", "performance", "60"),
        ("ev-1", "naver-cloud", "safety", "3"), ("ev-2", "naver-cloud", "safety", "5"),
        ("ev-3", "naver-cloud", "safety", "5"), ("ev-4", "naver-cloud", "safety", "1"),
        ("ev-1", "upstage", "performance", "50"), ("ev-3", "upstage", "performance", "50"), ("ev-4", "upstage", "performance", "100"),
        ("ev-1", "upstage", "safety", "2"), ("ev-3", "upstage", "safety", "4"), ("ev-4", "upstage", "safety", "4"),
        ("ev-1", "sk-telecom", "performance", "100"), ("ev-2", "sk-telecom", "performance", "0"),
        ("ev-3", "sk-telecom", "performance", "33.5"), ("ev-4", "sk-telecom", "performance", "66.5"),
        ("ev-1", "sk-telecom", "safety", "1"), ("ev-2", "sk-telecom", "safety", "2"),
        ("ev-3", "sk-telecom", "safety", "3"), ("ev-4", "sk-telecom", "safety", "5"),
    ]
    static let weights: [String: Decimal] = ["performance": 40, "safety": 25]

    static func d(_ s: String) -> Decimal { Decimal(string: s)! }
    /// Scaled to 0–100 by the criterion's range.
    static func scaled(_ criterion: String, _ score: Decimal) -> Decimal { criterion == "performance" ? score : (score - 1) / 4 * 100 }
    static func round(_ x: Decimal, _ places: Int = 2) -> String {
        var x = x, r = Decimal()
        NSDecimalRound(&r, &x, places, .bankers)
        let f = NumberFormatter()
        f.minimumFractionDigits = places; f.maximumFractionDigits = places; f.minimumIntegerDigits = 1
        f.usesGroupingSeparator = false; f.locale = Locale(identifier: "en_US_POSIX")
        return f.string(from: r as NSDecimalNumber)!
    }
    static func values(team: String, criterion: String?) -> [Decimal] {
        scores.filter { $0.1 == team && (criterion == nil || $0.2 == criterion) }
            .map { criterion == nil ? scaled($0.2, d($0.3)) : d($0.3) }
    }
    static func mean(_ v: [Decimal]) -> Decimal { v.reduce(0, +) / Decimal(v.count) }
    static func median(_ v: [Decimal]) -> Decimal {
        let s = v.sorted(); let m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }
    static func trimmed(_ v: [Decimal], drop k: Int = 1) -> Decimal { mean(Array(v.sorted().dropFirst(k).dropLast(k))) }
    static func weightedTotal(_ team: String) -> Decimal {
        let total = weights.values.reduce(0, +)
        return weights.map { c, w in w / total * mean(values(team: team, criterion: c).map { scaled(c, $0) }) }.reduce(0, +)
    }
}

@Suite("Reveal (design: Aggregates)", .serialized)
struct RevealTests {
    static func fixture(threshold: Int = 1, permissive: Bool = false) throws -> RoundFixture {
        let f = try RoundFixture()
        // A round is governed by the policy it opens under, so a permissive one comes first.
        if permissive { try permit(f) }
        try f.makeRound(holders: threshold == 1 ? ["chair"] : ["chair", "cm-1", "cm-2"], threshold: threshold)
        for ev in ["ev-1", "ev-2", "ev-3", "ev-4"] {
            try f.seal(ev, Known.scores.filter { $0.0 == ev }.map { ($0.1, $0.2, $0.3) })
        }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        return f
    }

    static func reveal(_ f: RoundFixture, _ stat: Statistic, by: [String] = ["team"], trim: String? = nil, advance: Int? = nil,
                       format: RevealFormat = .json, with: [String] = [], publish: Bool = false) throws -> RevealOutcome {
        try f.vault.reveal(RevealRequest(round: "R1", stat: stat, by: by, trim: trim.flatMap(Fixed.init), advance: advance, precision: 2, format: format),
                           actor: try f.actor("chair"), coHolders: try with.map { try f.actor($0) }, publish: publish)
    }

    /// A permissive policy for the statistics the default policy forbids (min, max, stddev)
    /// and for groups below 3, so the arithmetic itself can be checked.
    static func permit(_ f: RoundFixture) throws {
        _ = try f.vault.applyPolicy(try PolicySet(source: """
            @id("all") permit (principal in Role::"chair", action, resource);
            @id("evaluators-seal") permit (principal in Role::"evaluator", action == Action::"seal", resource);
            """, fileName: "all"), actor: try f.actor("chair"))
    }

    static func values(_ o: RevealOutcome) -> [String: String] {
        Dictionary(uniqueKeysWithValues: o.result.groups.map { ($0.team + ($0.criterion.map { "/" + $0 } ?? ""), $0.value) })
    }

    @Test("every statistic equals an independent computation: even medians, trimming with ties, weights not summing to 100, a 0.5 step")
    func statistics() throws {
        let f = try Self.fixture(permissive: true)
        let teams = ["naver-cloud", "sk-telecom", "upstage"]
        let cells = teams.flatMap { t in ["performance", "safety"].map { (t, $0) } }
        func check(_ stat: Statistic, by: [String], trim: String? = nil, expected: ([Decimal]) -> String) throws {
            let got = Self.values(try Self.reveal(f, stat, by: by, trim: trim))
            if by == ["team"] {
                for t in teams { #expect(got[t] == expected(Known.values(team: t, criterion: nil)), "\(stat) \(t)") }
            } else {
                for (t, c) in cells { #expect(got["\(t)/\(c)"] == expected(Known.values(team: t, criterion: c)), "\(stat) \(t)/\(c)") }
            }
        }
        for by in [["team"], ["team", "criterion"]] {
            try check(.mean, by: by) { Known.round(Known.mean($0)) }
            try check(.median, by: by) { Known.round(Known.median($0)) }
            try check(.trimmedMean, by: by) { Known.round(Known.trimmed($0)) }
            try check(.min, by: by) { Known.round($0.min()!) }
            try check(.max, by: by) { Known.round($0.max()!) }
            try check(.stddev, by: by) { v in
                let m = Known.mean(v)
                let variance = v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Decimal(v.count)
                return Known.round(Decimal(sqrt(NSDecimalNumber(decimal: variance).doubleValue)))
            }
        }
        try check(.trimmedMean, by: ["team"], trim: "0.25") { Known.round(Known.trimmed($0, drop: $0.count / 4)) }
        let counts = Self.values(try Self.reveal(f, .count))
        #expect(counts == ["naver-cloud": "4", "sk-telecom": "4", "upstage": "3"])
        // Spot checks by hand: naver-cloud performance mean 300.5/4 = 75.125 → 75.12 (half-even);
        // its median (70.5 + 80)/2 = 75.25; safety trimmed (3, 5 kept of 1,3,5,5) = 4.
        let cell = Self.values(try Self.reveal(f, .mean, by: ["team", "criterion"]))
        #expect(cell["naver-cloud/performance"] == "75.12")
        #expect(Self.values(try Self.reveal(f, .median, by: ["team", "criterion"]))["naver-cloud/performance"] == "75.25")
        #expect(Self.values(try Self.reveal(f, .trimmedMean, by: ["team", "criterion"]))["naver-cloud/safety"] == "4.00")

        let totals = Self.values(try Self.reveal(f, .weightedTotal))
        for t in teams { #expect(totals[t] == Known.round(Known.weightedTotal(t)), "weighted_total \(t)") }
        let rank = try Self.reveal(f, .rank, advance: 2)
        let expectedOrder = teams.sorted { Known.weightedTotal($0) > Known.weightedTotal($1) }
        #expect(rank.result.groups.map(\.team) == expectedOrder)
        #expect(rank.result.groups.map(\.rank) == [1, 2, 3])
        #expect(rank.result.groups.map(\.advance) == [true, true, false])
    }

    @Test("ties in rank are broken by team id and marked")
    func ties() throws {
        let f = try RoundFixture()
        try f.makeRound()
        for ev in ["ev-1", "ev-3", "ev-4"] {
            try f.seal(ev, RoundFixture.teams.flatMap { [($0, "performance", "50"), ($0, "safety", "3")] })
        }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        let r = try Self.reveal(f, .rank, advance: 1, format: .csv)
        #expect(r.result.groups.map(\.team) == ["naver-cloud", "sk-telecom", "upstage"])
        let allTied = r.result.groups.allSatisfy { $0.tie }
        #expect(allTied)
        #expect(String(decoding: r.output, as: UTF8.self) == "team,n,value,rank,tie,advance\r\nnaver-cloud,3,50.00,1,true,true\r\nsk-telecom,3,50.00,2,true,false\r\nupstage,3,50.00,3,true,false\r\n")
    }

    @Test("the same closed round gives the same bytes every time; the audit entry holds their SHA-256, never the values")
    func reproducible() throws {
        let f = try Self.fixture()
        for format in RevealFormat.allCases {
            let a = try Self.reveal(f, .mean, by: ["team", "criterion"], format: format)
            let b = try Self.reveal(f, .mean, by: ["team", "criterion"], format: format)
            #expect(a.output == b.output)
            let s = try f.vault.database.prepare("SELECT entry FROM audit_log ORDER BY seq DESC LIMIT 1")
            #expect(try s.step())
            let entry = try JSONParser.parse(s.blob(0))
            #expect(entry["action"] == .string("reveal") && entry["outcome"] == .string("ok"))
            #expect(entry["details"]?["output_sha256"] == .string(Hex.encode(SHA256.hash(data: b.output))))
            #expect(!s.blob(0).contains(bytes: Array("75.12".utf8)))
        }
        let json = String(decoding: try Self.reveal(f, .mean).output, as: UTF8.self)
        // RFC 8785, the one JSON form: members sorted, n a number, the value a decimal string.
        #expect(json.hasPrefix(#"{"by":["team"],"groups":[{"n":4,"team":"naver-cloud","value":""#))
        #expect(json.hasSuffix(#"],"round":"R1","stat":"mean"}"# + "\n"))
    }

    @Test("default policy: before close, by evaluator, min/max/stddev (undeclared), and a cell of 2 are denied, printing nothing")
    func denials() throws {
        let open = try RoundFixture()
        try open.makeRound()
        try open.seal("ev-1", [("upstage", "performance", "50")])
        let e0 = #expect(throws: VaultError.self) { try Self.reveal(open, .mean) }
        #expect(e0 == .denied(policyIDs: [], reason: "round R1 is open; the policy permits reveal only when it is closed"))

        let f = try Self.fixture()
        let byEvaluator = #expect(throws: VaultError.self) { try Self.reveal(f, .mean, by: ["team", "evaluator"]) }
        #expect(byEvaluator?.message.hasPrefix("denied by policy never-by-evaluator, reveal-only-declared: round R1 does not declare mean by team,evaluator") == true)
        for stat in [Statistic.min, .max, .stddev] {
            let e = #expect(throws: VaultError.self) { try Self.reveal(f, stat) }
            #expect(e?.message.hasPrefix("denied by policy reveal-only-declared: round R1 does not declare \(stat.rawValue) by team") == true)
        }
        // A round where one team has only two evaluators in its cells:
        let g = try RoundFixture()
        try g.makeRound()
        for ev in ["ev-1", "ev-3", "ev-4"] { try g.seal(ev, [("naver-cloud", "performance", "50"), ("naver-cloud", "safety", "3")]) }
        for ev in ["ev-1", "ev-3"] { try g.seal(ev, [("upstage", "performance", "50"), ("upstage", "safety", "3")]) }
        _ = try g.vault.closeRound("R1", actor: try g.actor("chair"))
        let e = #expect(throws: VaultError.self) { try Self.reveal(g, .mean) }
        #expect(e == .denied(policyIDs: ["reveal-min-group-3"], reason: "upstage/performance: 2 evaluators, the policy needs 3"))
        let s = try g.vault.database.prepare("SELECT entry FROM audit_log ORDER BY seq DESC LIMIT 1")
        #expect(try s.step())
        let entry = try JSONParser.parse(s.blob(0))
        #expect(entry["outcome"] == .string("denied") && entry["details"]?["min_group"] == .integer(2))
        #expect(entry["details"]?["output_sha256"] == nil)
    }

    @Test("threshold 2: one holder is denied before any seal is opened; two work; a wrong passphrase is 77")
    func threshold() throws {
        let f = try Self.fixture(threshold: 2)
        let e = #expect(throws: VaultError.self) { try Self.reveal(f, .mean) }
        #expect(e == .denied(policyIDs: ["reveal-needs-threshold"], reason: "round R1 needs 2 of its reveal holders to take part; 1 did"))
        #expect(Self.values(try Self.reveal(f, .mean, with: ["cm-2"]))["naver-cloud"] != nil)
        #expect(Self.values(try Self.reveal(f, .mean, with: ["cm-1", "cm-2"])) == Self.values(try Self.reveal(f, .mean, with: ["cm-1"])))
        let wrong = #expect(throws: VaultError.self) { try f.actor("cm-1", passphrase: "not cm-1's") }
        #expect(wrong?.exitStatus == .noPermission && wrong?.message.contains("authentication failed") == true)
        // A co-holder who is not one of this round's holders is refused, named — not silently
        // left uncounted (the refusal then blamed the threshold).
        #expect(throws: VaultError.usage("--with ev-1: ev-1 is not a reveal holder of round R1 (its holders: chair, cm-1, cm-2)")) {
            try Self.reveal(f, .mean, with: ["ev-1"])
        }
    }

    @Test("a byte flipped in any chunk, header, signature or place field of vault.db: exit 65, integrity, nothing revealed",
          arguments: [("batch_chunks", "ct"), ("batch_chunks", "n"), ("batches", "header"), ("batches", "signature"), ("batches", "round"),
                      ("rounds", "public_key"), ("key_wraps", "ct"), ("key_wraps", "enc")])
    func flips(table: String, column: String) throws {
        let f = try Self.fixture()
        let db = f.vault.database
        try db.execute("PRAGMA foreign_keys = OFF")
        // Pick one row; flip the lowest bit of one byte of the column (or move the chunk).
        if table == "batch_chunks" && column == "n" {
            try db.execute("UPDATE batch_chunks SET n = n + 1000 WHERE rowid = (SELECT max(rowid) FROM batch_chunks)")
        } else {
            let row = try db.prepare("SELECT rowid FROM \(table)\(table == "key_wraps" ? " WHERE purpose = 'round-key'" : "") LIMIT 1")
            #expect(try row.step())
            let rowid = row.int(0)
            let s = try db.prepare("SELECT \(column) FROM \(table) WHERE rowid = ?").bind(rowid)
            #expect(try s.step())
            if column == "round" {
                try db.prepare("UPDATE batches SET round = 'R1x' WHERE rowid = ?").bind(rowid).run()
                try db.execute("INSERT INTO rounds SELECT 'R1x', config, state, policy_version, public_key, version, chair_sig, panel, ceremony FROM rounds WHERE id = 'R1'")
            } else {
                var b = s.blob(0); b[b.count / 2] ^= 1
                try db.prepare("UPDATE \(table) SET \(column) = ? WHERE rowid = ?").bind(b, rowid).run()
            }
        }
        let e = #expect(throws: VaultError.self) { try Self.reveal(f, .mean) }
        #expect(e?.exitStatus == .dataError, "\(table).\(column): \(e?.message ?? "")")
        #expect(e?.message.contains("integrity") == true, "\(table).\(column): \(e?.message ?? "")")
    }

    @Test("a published result verifies offline; any change to it does not")
    func publish() throws {
        let f = try Self.fixture()
        let o = try Self.reveal(f, .rank, advance: 2, publish: true)
        let statement = try #require(o.statement)
        let v = try ResultStatement.verify(statement)
        #expect(v.round == "R1" && v.stat == "rank" && v.groups.count == 3 && v.chair == "chair")
        let text = String(decoding: statement, as: UTF8.self)
        for (find, replace) in [("\"rank\":1", "\"rank\":2"), ("\"advance\":false", "\"advance\":true"), ("\"n\":4", "\"n\":5")] {
            guard let r = text.range(of: find) else { Issue.record("no \(find) in the statement"); continue }
            #expect(throws: VaultError.self, "\(find)") { try ResultStatement.verify(Array(text.replacingCharacters(in: r, with: replace).utf8)) }
        }
        let value = try #require(o.result.groups.first?.value)
        #expect(throws: VaultError.self) { try ResultStatement.verify(Array(text.replacingOccurrences(of: "\"\(value)\"", with: "\"99.99\"").utf8)) }
    }
}
