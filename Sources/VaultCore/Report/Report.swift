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
/// resource of any kind, print and phone friendly.
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

    func render() -> String {
        let e = Self.escape
        let c = round.config
        let totalWeight = c.criteria.reduce(0) { $0 + $1.weight.micros }
        var h = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <title>\(e(c.title)) — results of round \(e(c.id))</title>
            <style>
            body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 56rem; padding: 1rem; color: #1d2330; line-height: 1.45; }
            h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
            h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #d6dae3; padding-bottom: 0.2rem; }
            p.meta { color: #5a6275; margin-top: 0; }
            table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
            th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid #e6e9ef; }
            td.num, th.num { text-align: right; }
            tr.advance td { font-weight: 600; }
            .scroll { overflow-x: auto; }
            svg { width: 100%; max-width: 38rem; height: auto; display: block; }
            code { word-break: break-all; }
            svg text { font-size: 13px; fill: #1d2330; }
            pre { white-space: pre-wrap; word-break: break-all; background: #f5f6f9; padding: 0.6rem; font-size: 0.75rem; }
            small { color: #5a6275; }
            @media (max-width: 32rem) { body { padding: 0.6rem; } th, td { padding: 0.3rem 0.3rem; font-size: 0.9rem; } }
            @media print { body { max-width: none; } h2 { break-after: avoid; } pre { font-size: 0.6rem; } .scroll { overflow: visible; } }
            </style>
            </head>
            <body>
            <h1>\(e(c.title))</h1>
            <p class="meta">Round \(e(c.id)) · \(c.teams.count) teams · \(c.criteria.count) criteria · revealed by \(e(verified.chair)) with \(c.reveal.threshold) of \(c.reveal.holders.count) key holders</p>

            """
        h += "<h2>Weighted totals</h2>\n" + chart() + "\n"
        h += "<div class=\"scroll\"><table>\n<thead><tr><th class=\"num\">Rank</th><th>Team</th><th class=\"num\">n</th><th class=\"num\">Weighted total</th><th>Status</th></tr></thead>\n<tbody>\n"
        for g in rank.groups {
            let status = g.advance == true ? "advances" : (advance == nil ? "" : "eliminated")
            h += "<tr\(g.advance == true ? " class=\"advance\"" : "")><td class=\"num\">\(g.rank ?? 0)\(g.tie ? "=" : "")</td><td>\(e(g.team))</td><td class=\"num\">\(g.n)</td><td class=\"num\">\(e(g.value))</td><td>\(status)</td></tr>\n"
        }
        h += "</tbody>\n</table></div>\n"
        if rank.groups.contains(where: \.tie) { h += "<p><small>= tied with another team; ties are broken by team id.</small></p>\n" }

        h += "<h2>Criteria and weights</h2>\n<div class=\"scroll\"><table>\n<thead><tr><th>Criterion</th><th>Title</th><th class=\"num\">Weight</th><th class=\"num\">Share</th><th class=\"num\">Range</th><th class=\"num\">Step</th></tr></thead>\n<tbody>\n"
        for cr in c.criteria {
            let share = (try? Rational(Int128(cr.weight.micros) * 100, Int128(totalWeight)).decimal(places: 1)) ?? "?"
            h += "<tr><td>\(e(cr.id))</td><td>\(e(cr.title))</td><td class=\"num\">\(e(cr.weight.description))</td><td class=\"num\">\(share)%</td><td class=\"num\">\(e(cr.min.description))–\(e(cr.max.description))</td><td class=\"num\">\(e(cr.step.description))</td></tr>\n"
        }
        h += "</tbody>\n</table></div>\n"

        h += "<h2>Mean score per criterion</h2>\n<p><small>Each cell: the mean of the latest scores, in the criterion's own units, and n, the number of distinct evaluators.</small></p>\n"
        h += "<div class=\"scroll\"><table>\n<thead><tr><th>Team</th>" + c.criteria.map { "<th class=\"num\">\(e($0.id))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for team in c.teams where cells.groups.contains(where: { $0.team == team }) {
            h += "<tr><td>\(e(team))</td>"
            for cr in c.criteria {
                if let g = cells.groups.first(where: { $0.team == team && $0.criterion == cr.id }) {
                    h += "<td class=\"num\">\(e(g.value)) <small>(n=\(g.n))</small></td>"
                } else {
                    h += "<td class=\"num\">–</td>"
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

    /// Horizontal bars of weighted totals (0–100), in rank order; when some teams advance, a
    /// dashed line and its label sit in a gap under the last advancing team.
    func chart() -> String {
        let e = Self.escape
        let rowHeight = 30, left = 120, width = 440, barMax = width - left - 60, gap = 18
        let line = advance.flatMap { $0 > 0 && $0 < rank.groups.count ? $0 : nil }
        let height = rank.groups.count * rowHeight + 20 + (line == nil ? 0 : gap)
        var s = "<svg viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"Weighted totals by team\">\n"
        for (i, g) in rank.groups.enumerated() {
            let y = 10 + i * rowHeight + (line.map { i >= $0 ? gap : 0 } ?? 0)
            let value = Double(g.value) ?? 0
            let w = max(1, Int((value / 100 * Double(barMax)).rounded()))
            let colour = g.advance == false ? "#a9b1c2" : "#2f6fde"
            s += "<text x=\"\(left - 8)\" y=\"\(y + 19)\" text-anchor=\"end\">\(e(g.team))</text>\n"
            s += "<rect x=\"\(left)\" y=\"\(y + 4)\" width=\"\(w)\" height=\"\(rowHeight - 10)\" fill=\"\(colour)\" rx=\"3\" />\n"
            s += "<text x=\"\(left + w + 6)\" y=\"\(y + 19)\">\(e(g.value))</text>\n"
        }
        if let line {
            let y = 10 + line * rowHeight + gap / 2
            s += "<line x1=\"4\" y1=\"\(y)\" x2=\"\(width - 4)\" y2=\"\(y)\" stroke=\"#c0392b\" stroke-width=\"2\" stroke-dasharray=\"6 4\" />\n"
            s += "<text x=\"\(width - 4)\" y=\"\(y - 4)\" text-anchor=\"end\" fill=\"#c0392b\" font-size=\"11\">top \(line) advance</text>\n"
        }
        return s + "</svg>"
    }
}
