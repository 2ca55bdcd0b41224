import Foundation
import VaultCrypto

/// `report --round R --out FILE.html`: the round's results as one self-contained HTML page —
/// criteria and weights, a bar chart (inline SVG) of weighted totals with the advance line, a
/// per-criterion table with n for every cell, the policy hash, the audit checkpoint and the
/// signed result statement. It is produced by two reveals (rank, and mean by team and
/// criterion) over one opening of the round, each decided by the policy and audited as a reveal.
extension Vault {
    public func report(round roundID: String, advance: Int?, actor: Actor, coHolders: [Actor]) throws -> [UInt8] {
        // Two reveals, each decided and audited as such, over one opening of the round.
        let outcomes = try reveal([
            (RevealRequest(round: roundID, stat: .rank, by: ["team"], trim: nil, advance: advance, precision: 2, format: .json), true),
            (RevealRequest(round: roundID, stat: .mean, by: ["team", "criterion"], trim: nil, advance: nil, precision: 2, format: .json), false),
        ], actor: actor, coHolders: coHolders)
        return try report(round: roundID, advance: advance, rank: outcomes[0], cells: outcomes[1], chairKey: actor.chairKey)
    }

    /// The report from two reveals already made (the published rank by team, the mean by team
    /// and criterion) — for instance each completed from holders' approval files.
    public func report(round roundID: String, advance: Int?, rank: RevealOutcome, cells: RevealOutcome,
                       chairKey: Curve25519.Signing.PublicKey) throws -> [UInt8] {
        let round = try self.round(roundID, verifiedWith: chairKey)
        guard let statement = rank.statement else { throw VaultError.internalError("the rank reveal produced no statement") }
        let verified = try ResultStatement.verify(statement)
        return Array(HTMLReport(round: round, rank: rank.result, cells: cells.result, statement: statement, verified: verified,
                                advance: advance).render().utf8)
    }
}

/// The page itself. Well-formed (every element closed, every attribute quoted), no external
/// resource of any kind, print and phone friendly. It names the programme and the round, says
/// when the reveal was made (the time of its chair-signed log entry), and shows teams by the
/// display names the chair-signed round record gives (ids where it gives none).
///
/// The chart is HTML, not a drawing: each team is one grid row (name, bar, value), and the
/// advance cut is a row of its own — a dashed rule with its label under it — so no label can
/// sit on a bar or on the cut line, and long names wrap instead of running off the page.
/// `Tests/tools/report_layout.py` renders pages in a real browser at phone and desktop widths
/// and fails on any overlap or overflow.
struct HTMLReport {
    let round: Round
    let rank: AggregateResult
    let cells: AggregateResult
    let statement: [UInt8]
    let verified: ResultStatement.Verified
    let advance: Int?

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// "2026-11-29 19:25 UTC" from the entry's RFC 3339 time (`2026-11-29T19:25:12Z`).
    static func revealDate(_ time: String) -> String {
        let parts = time.split(separator: "T")
        guard parts.count == 2, parts[1].count >= 5 else { return time }
        return "\(parts[0]) \(parts[1].prefix(5)) UTC"
    }

    /// A team's name for the page, with its id beside it when the name differs (ids are what
    /// the signed statement and `reveal` print).
    func teamCell(_ team: String) -> String {
        let e = Self.escape
        let name = round.config.displayName(of: team)
        return name == team ? e(team) : "\(e(name)) <small class=\"id\">\(e(team))</small>"
    }

    func render() -> String {
        let e = Self.escape
        let c = round.config
        let totalWeight = c.criteria.reduce(0) { $0 + $1.weight.micros }
        let heading = c.programme.map { "\($0) — \(c.title)" } ?? c.title
        var h = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <title>\(e(heading)) — results of round \(e(c.id))</title>
            <style>
            body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 56rem; padding: 1rem; color: #1d2330; line-height: 1.45; overflow-wrap: break-word; }
            h1 { font-size: 1.5rem; margin: 0.1rem 0 0.2rem; }
            h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #d6dae3; padding-bottom: 0.2rem; }
            p.programme { margin: 0; color: #3b4a6b; font-weight: 600; letter-spacing: 0.01em; }
            p.meta { color: #5a6275; margin-top: 0; }
            table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
            th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid #e6e9ef; vertical-align: top; }
            td.num, th.num { text-align: right; }
            td.num small { white-space: nowrap; }
            tr.advance td { font-weight: 600; }
            small.id { color: #5a6275; font-weight: 400; }
            td.team { overflow-wrap: anywhere; }
            .scroll { overflow-x: auto; }
            ol.chart { list-style: none; margin: 0.8rem 0; padding: 0; max-width: 44rem; font-variant-numeric: tabular-nums; }
            ol.chart li.row { display: grid; grid-template-columns: minmax(0, 13rem) minmax(4rem, 1fr) 4rem; column-gap: 0.6rem; align-items: center; padding: 0.2rem 0; }
            ol.chart .name { text-align: right; overflow-wrap: anywhere; }
            ol.chart .track { display: block; height: 1.1rem; background: #eef0f5; border-radius: 3px; overflow: hidden; }
            ol.chart .bar { display: block; height: 100%; background: #2f6fde; border-radius: 3px; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
            ol.chart li.out .bar { background: #a9b1c2; }
            ol.chart .value { text-align: right; white-space: nowrap; }
            ol.chart li.cut { border-top: 2px dashed #c0392b; margin: 0.35rem 0; padding-top: 0.15rem; text-align: right; color: #c0392b; font-size: 0.8rem; }
            code { word-break: break-all; }
            pre { white-space: pre-wrap; word-break: break-all; background: #f5f6f9; padding: 0.6rem; font-size: 0.75rem; }
            small { color: #5a6275; }
            @media (max-width: 32rem) {
              body { padding: 0.6rem; }
              th, td { padding: 0.3rem 0.3rem; font-size: 0.9rem; }
              ol.chart li.row { grid-template-columns: minmax(0, 1fr) 4rem; row-gap: 0.1rem; }
              ol.chart .name { grid-column: 1 / -1; text-align: left; }
              table.cards thead { display: none; }
              table.cards tr { display: block; border-bottom: 1px solid #d6dae3; padding: 0.3rem 0; }
              table.cards td { display: flex; justify-content: space-between; gap: 1rem; border: none; padding: 0.1rem 0.3rem; text-align: right; }
              table.cards td::before { content: attr(data-label); color: #5a6275; text-align: left; }
              table.cards td.head { display: block; font-weight: 600; text-align: left; }
              table.cards td.head::before { content: none; }
            }
            @media print { body { max-width: none; } h2 { break-after: avoid; } pre { font-size: 0.6rem; } .scroll { overflow: visible; } }
            </style>
            </head>
            <body>

            """
        if let programme = c.programme { h += "<p class=\"programme\">\(e(programme))</p>\n" }
        h += "<h1>\(e(c.title))</h1>\n"
        h += "<p class=\"meta\">Round \(e(c.id)) · revealed <time datetime=\"\(e(verified.revealTime))\">\(e(Self.revealDate(verified.revealTime)))</time> by \(e(verified.chair)) with \(c.reveal.threshold) of \(c.reveal.holders.count) key holders · \(c.teams.count) teams · \(c.criteria.count) criteria</p>\n"
        h += "<h2>Weighted totals</h2>\n" + chart() + "\n"
        h += "<div class=\"scroll\"><table>\n<thead><tr><th class=\"num\">Rank</th><th>Team</th><th class=\"num\">n</th><th class=\"num\">Weighted total</th><th>Status</th></tr></thead>\n<tbody>\n"
        for g in rank.groups {
            let status = g.advance == true ? "advances" : (advance == nil ? "" : "eliminated")
            h += "<tr\(g.advance == true ? " class=\"advance\"" : "")><td class=\"num\">\(g.rank ?? 0)\(g.tie ? "=" : "")</td><td class=\"team\">\(teamCell(g.team))</td><td class=\"num\">\(g.n)</td><td class=\"num\">\(e(g.value))</td><td>\(status)</td></tr>\n"
        }
        h += "</tbody>\n</table></div>\n"
        if rank.groups.contains(where: \.tie) { h += "<p><small>= tied with another team; ties are broken by team id.</small></p>\n" }

        // On a phone, the two wide tables become one card per row, each value labelled (CSS only).
        h += "<h2>Criteria and weights</h2>\n<div class=\"scroll\"><table class=\"cards\">\n<thead><tr><th>Criterion</th><th class=\"num\">Weight</th><th class=\"num\">Share</th><th class=\"num\">Range</th><th class=\"num\">Step</th></tr></thead>\n<tbody>\n"
        for cr in c.criteria {
            let share = (try? Rational(Int128(cr.weight.micros) * 100, Int128(totalWeight)).decimal(places: 1)) ?? "?"
            let name = cr.title == cr.id ? e(cr.id) : "\(e(cr.title)) <small class=\"id\">\(e(cr.id))</small>"
            h += "<tr><td class=\"head\">\(name)</td><td class=\"num\" data-label=\"Weight\">\(e(cr.weight.description))</td><td class=\"num\" data-label=\"Share\">\(share)%</td><td class=\"num\" data-label=\"Range\">\(e(cr.min.description))–\(e(cr.max.description))</td><td class=\"num\" data-label=\"Step\">\(e(cr.step.description))</td></tr>\n"
        }
        h += "</tbody>\n</table></div>\n"

        h += "<h2>Mean score per criterion</h2>\n<p><small>Each cell: the mean of the latest scores, in the criterion's own units, and n, the number of distinct evaluators.</small></p>\n"
        h += "<div class=\"scroll\"><table class=\"cards\">\n<thead><tr><th>Team</th>" + c.criteria.map { "<th class=\"num\">\(e($0.id))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for team in c.teams where cells.groups.contains(where: { $0.team == team }) {
            h += "<tr><td class=\"head team\">\(teamCell(team))</td>"
            for cr in c.criteria {
                if let g = cells.groups.first(where: { $0.team == team && $0.criterion == cr.id }) {
                    h += "<td class=\"num\" data-label=\"\(e(cr.id))\"><span>\(e(g.value)) <small>(n=\(g.n))</small></span></td>"
                } else {
                    h += "<td class=\"num\" data-label=\"\(e(cr.id))\">–</td>"
                }
            }
            h += "</tr>\n"
        }
        h += "</tbody>\n</table></div>\n"

        h += """
            <h2>Proof</h2>
            <p>Policy in force: <code>\(e(verified.policySHA256))</code> (SHA-256 of its text). Audit log checkpoint at \(verified.checkpointSize) entries, signed by the chair (fingerprint <code>\(e(verified.chairFingerprint.description))</code>):</p>
            <pre>\(e(checkpointText()))</pre>
            <p>Signed result statement — check it with <code>evalvault verify-result FILE</code>, with no vault and no passphrase:</p>
            <pre>\(e(String(decoding: statement, as: UTF8.self)))</pre>
            <p><small>Made by EvalVault. Only aggregates that the policy allows appear here; no individual score and no evaluator is shown.</small></p>
            </body>
            </html>

            """
        return h
    }

    func checkpointText() -> String {
        (try? JSONParser.parse(statement))?["log"]?["checkpoint"]?.stringValue ?? ""
    }

    /// One row per team in rank order (name, bar of the weighted total on 0–100, value); when
    /// some teams advance, a row of its own between the last advancing team and the next: a
    /// dashed rule with "top N advance" under it.
    func chart() -> String {
        let e = Self.escape
        let cut = advance.flatMap { $0 > 0 && $0 < rank.groups.count ? $0 : nil }
        var s = "<ol class=\"chart\" aria-label=\"Weighted totals by team, in rank order\">\n"
        for (i, g) in rank.groups.enumerated() {
            if let cut, i == cut {
                s += "<li class=\"cut\" role=\"separator\"><span class=\"cut-label\">▲ top \(cut) advance</span></li>\n"
            }
            let value = min(100, max(0, Double(g.value) ?? 0))
            let width = String(format: "%.2f", value)
            s += "<li class=\"row\(g.advance == false ? " out" : "")\"><span class=\"name\">\(e(round.config.displayName(of: g.team)))</span>"
            s += "<span class=\"track\"><span class=\"bar\" style=\"width: \(width)%\"></span></span><span class=\"value\">\(e(g.value))</span></li>\n"
        }
        return s + "</ol>"
    }
}
