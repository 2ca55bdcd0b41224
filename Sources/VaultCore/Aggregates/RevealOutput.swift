/// The printed forms of a reveal (design: Aggregates). Each is a pure function of the result, so the same
/// closed round gives the same bytes every time; the audit entry records their SHA-256. The three
/// use the same names: `team`, `criterion`, `n`, `value`, `rank`, `tie`, `advance`.
public enum RevealFormat: String, Sendable, CaseIterable { case table, json, csv }

extension AggregateResult {
    var hasCriterion: Bool { by.contains("criterion") }
    var isRank: Bool { stat == .rank }

    public func render(_ format: RevealFormat) -> [UInt8] {
        switch format {
        case .json:
            // The one way EvalVault writes JSON (RFC 8785), as for the result statement's groups.
            return CanonicalJSON.encode(.object(["round": .string(round), "stat": .string(stat.rawValue),
                                                 "by": .array(by.map { .string($0) }), "groups": groupsJSON])) + [0x0A]
        case .csv:
            var header = ["team"]
            if hasCriterion { header.append("criterion") }
            header += ["n", "value"]
            if isRank { header += ["rank", "tie"] + (groups.first?.advance != nil ? ["advance"] : []) }
            var lines = [header.joined(separator: ",")]
            for g in groups {
                var row = [CSV.field(g.team)]
                if hasCriterion { row.append(CSV.field(g.criterion ?? "")) }
                row += [String(g.n), g.value]
                if isRank { row += [String(g.rank ?? 0), g.tie ? "true" : "false"] + (g.advance.map { [$0 ? "true" : "false"] } ?? []) }
                lines.append(row.joined(separator: ","))
            }
            return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
        case .table:
            var header = isRank ? ["rank", "team"] : ["team"]
            if hasCriterion { header.append("criterion") }
            header += ["n", "value"]  // the statistic is named in the title line
            if isRank && groups.first?.advance != nil { header.append("advance") }
            let rows: [[String]] = groups.map { g in
                var r = isRank ? [String(g.rank ?? 0) + (g.tie ? "=" : ""), g.team] : [g.team]
                if hasCriterion { r.append(g.criterion ?? "") }
                r += [String(g.n), g.value]
                if isRank, let a = g.advance { r.append(a ? "advances" : "") }
                return r
            }
            let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
            func line(_ r: [String]) -> String {
                r.enumerated().map { i, c in
                    // numbers right-aligned, text left-aligned
                    let numeric = c.first.map { $0.isNumber || $0 == "-" } ?? false
                    return numeric && i > 0 ? String(repeating: " ", count: widths[i] - c.count) + c
                        : c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
            }
            var out = "round \(round), \(stat.rawValue) by \(by.joined(separator: ", "))\(isRank ? " (value: the weighted total)" : "")\n"
            out += ([line(header)] + rows.map(line)).joined(separator: "\n") + "\n"
            if rows.contains(where: { $0[0].hasSuffix("=") }) { out += "= tied with another team; ties are broken by team id\n" }
            return Array(out.utf8)
        }
    }

    /// The groups as JSON values, shared by the JSON output and the signed result statement.
    var groupsJSON: JSONValue {
        .array(groups.map { g in
            var o: [String: JSONValue] = ["team": .string(g.team), "n": .integer(Int64(g.n)), "value": .string(g.value)]
            if let c = g.criterion { o["criterion"] = .string(c) }
            if let r = g.rank { o["rank"] = .integer(Int64(r)); o["tie"] = .bool(g.tie) }
            if let a = g.advance { o["advance"] = .bool(a) }
            return .object(o)
        })
    }
}
