import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import TestSupport
import Testing
@testable import VaultCore

@Suite("Demo and report", .serialized)
struct DemoTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("the embedded round files are Examples/round-1.toml and round-2.toml")
    func roundFilesInSync() throws {
        #expect(try String(contentsOf: Self.repo.appendingPathComponent("Examples/round-1.toml"), encoding: .utf8) == DemoData.round1TOML)
        #expect(try String(contentsOf: Self.repo.appendingPathComponent("Examples/round-2.toml"), encoding: .utf8) == DemoData.round2TOML)
    }

    /// Weighted totals from the seeded scores, computed here with Decimal: each criterion's mean
    /// over the evaluators without a conflict, scaled to 0–100 by its range, weighted, normalised.
    static func expectedRanking(_ toml: String, teams: [String]? = nil) throws -> [(team: String, total: Decimal)] {
        let config = try RoundFile.parse(toml, file: "r")
        let evaluators = DemoData.people.filter { $0.role == .evaluator }
        let weightSum = config.criteria.reduce(Decimal(0)) { $0 + Decimal($1.weight.micros) / 1_000_000 }
        let ranked = (teams ?? config.teams).map { team -> (String, Decimal) in
            var total = Decimal(0)
            for c in config.criteria {
                let scores = evaluators.filter { !$0.conflicts.contains(team) }.map {
                    Decimal(DemoData.score(round: config.id, evaluator: $0.id, team: team, criterion: c).micros) / 1_000_000
                }
                let mean = scores.reduce(0, +) / Decimal(scores.count)
                let lo = Decimal(c.min.micros) / 1_000_000, hi = Decimal(c.max.micros) / 1_000_000
                total += (Decimal(c.weight.micros) / 1_000_000) / weightSum * ((mean - lo) / (hi - lo) * 100)
            }
            return (team, total)
        }
        return ranked.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.map { (team: $0.0, total: $0.1) }
    }

    @Test("the demo runs in a temporary folder and its rankings match the seeded scores computed independently")
    func demo() throws {
        let dir = TemporaryFolder("evalvault-demo-test")
        var lines: [String] = []
        let outcome = try Demo(directory: dir.path, say: { lines.append($0) }).run()
        let expected1 = try Self.expectedRanking(DemoData.round1TOML)
        #expect(outcome.round1Ranking.map(\.team) == expected1.map(\.team))
        #expect(outcome.round1Ranking.map(\.value) == expected1.map { Known.round($0.total) })
        #expect(outcome.round1Ranking.map(\.advance) == [true, true, true, true, false])
        let survivors = Array(expected1.prefix(4).map(\.team))
        let expected2 = try Self.expectedRanking(DemoData.round2TOML, teams: survivors)
        #expect(outcome.round2Ranking.map(\.team) == expected2.map(\.team))
        #expect(outcome.round2Ranking.map(\.value) == expected2.map { Known.round($0.total) })
        // n per team: nine evaluators less the declared conflicts.
        #expect(outcome.round1Ranking.first { $0.team == "upstage" }?.n == 8)
        #expect(outcome.round1Ranking.first { $0.team == "sk-telecom" }?.n == 9)
        let v = try ResultStatement.verify(try Files.read(outcome.resultStatement, what: "statement"))
        #expect(v.round == "2025-R1" && v.groups.count == 5)
        // Round 2 is a tally round: its published record checks in the independent verifier.
        #expect(lines.contains { $0.contains("as a tally round") })
        let script = Self.repo.appendingPathComponent("Tests/tools/verify_tally.py").path
        let py = try Subprocess.run("/usr/bin/env", ["python3", script, outcome.tallyRecord], environment: Subprocess.baseEnvironment,
                                    directory: dir.path, timeout: 300)
        #expect(py.status == 0 && py.stdout.contains("tally record verified: 136 scores, 16 cells"), "\(py.stdout) \(py.stderr)")
        #expect(lines.contains { $0.contains("denied by policy never-by-evaluator") })
        #expect(lines.contains { $0.contains("denied by policy no-seal-with-conflict") })
        #expect(lines.contains { $0.hasSuffix("denied by policy reveal-only-declared: round 2025-R1 declares mean by team,criterion at precision 2; this request asks precision 6") })
        #expect(lines.contains { $0.contains("declares what it will publish, fixed before anyone seals: rank by team at precision 2, advance 4; mean by team,criterion at precision 2") })
        #expect(lines.contains { $0.contains(outcome.report) })
        // Nothing secret in the vault folder: no identity, no seeded score text of a cell.
        for file in dir.allFiles() where file.hasPrefix(outcome.vault) {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            for p in DemoData.people { #expect(!bytes.contains(bytes: Array(p.identity.utf8)), "\(file)") }
        }
    }

    @Test("the HTML report is well-formed, self-contained, and holds every team, n and value of the reveal")
    func report() throws {
        let dir = TemporaryFolder("evalvault-demo-report")
        let outcome = try Demo(directory: dir.path, say: { _ in }).run()
        let html = try String(contentsOfFile: outcome.report, encoding: .utf8)
        // Well-formed: an XML parser accepts the page once the HTML5 doctype line is set aside.
        let body = html.replacingOccurrences(of: "<!DOCTYPE html>\n", with: "")
        let parser = XMLParser(data: Data(body.utf8))
        // swift-corelibs-foundation returns true even on a fatal error; the error is in parserError.
        let ok = parser.parse() && parser.parserError == nil
        #expect(ok, "not well-formed: \(parser.parserError.map { "\($0)" } ?? "") at line \(parser.lineNumber)")
        #expect(!html.lowercased().contains("http"), "the report must not reference anything on the network")
        #expect(!html.contains("src=") && !html.contains("<link") && !html.contains("<script"))
        #expect(html.contains("<ol class=\"chart\"") && html.contains("@media print") && html.contains("name=\"viewport\""))
        // Teams by their display names (from the signed round record), with the id beside them.
        let names = try RoundFile.parse(DemoData.round1TOML, file: "r1").teamNames
        for g in outcome.round1Ranking {
            let name = try #require(names[g.team])
            #expect(html.contains("<td class=\"team\">\(name) <small class=\"id\">\(g.team)</small></td><td class=\"num\">\(g.n)</td><td class=\"num\">\(g.value)</td>"), "\(g.team)")
            #expect(html.contains("<span class=\"name\">\(name)</span>"), "\(g.team) in the chart")
        }
        // The programme, and the date of the reveal (its log entry's time).
        #expect(html.contains("<p class=\"programme\">National AI Foundation Model Programme</p>"))
        #expect(html.contains(#/revealed <time datetime="\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z">\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC</time>/#))
        // The cut is a row of its own, after the 4th team: its label can never sit on a bar.
        let rows = html.components(separatedBy: "<li class=\"").dropFirst().map { String($0.prefix(3)) }
        #expect(rows == ["row", "row", "row", "row", "cut", "row"])
        #expect(html.contains("top 4 advance"))
        #expect(html.contains("(n=8)") && html.contains("(n=9)"))
        // The page embeds the signed statement of the rank reveal the demo published (made from
        // cm-1's approval file): it verifies, and it is that statement, byte for byte.
        let published = try ResultStatement.verify(try Files.read(outcome.resultStatement, what: "s"))
        let pre = try #require(html.range(of: "<pre>{", options: .backwards))
        let end = try #require(html.range(of: "</pre>", range: pre.upperBound..<html.endIndex))
        let escaped = String(html[html.index(before: pre.upperBound)..<end.lowerBound])
        let embedded = escaped.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        #expect(HTMLReport.escape(embedded) == escaped)
        let shown = try ResultStatement.verify(Array(embedded.utf8))
        #expect(shown.round == "2025-R1" && shown.stat == "rank")
        #expect(shown.groups == published.groups && shown.groups.count == 5)
        #expect(shown.chairFingerprint == published.chairFingerprint)
        #expect(shown.checkpointSize == published.checkpointSize)
        let file = try Files.read(outcome.resultStatement, what: "s")
        #expect(Array(embedded.utf8) == file || Array(embedded.utf8) + [0x0A] == file)
    }
}
