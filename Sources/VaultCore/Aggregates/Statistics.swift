/// The statistics of SPEC §7.
public enum Statistic: String, Sendable, CaseIterable {
    case count, mean, median, trimmedMean = "trimmed_mean", stddev, min, max, weightedTotal = "weighted_total", rank
}

/// One output group: a team, or a (team, criterion) cell.
public struct AggregateGroup: Sendable, Equatable {
    public let team: String
    public let criterion: String?
    /// Distinct evaluators behind this group.
    public let n: Int
    /// The value, already rounded half-even for output.
    public let value: String
    public var rank: Int?
    public var tie: Bool = false
    public var advance: Bool?
}

/// The computed answer to a reveal request, before it is printed.
public struct AggregateResult: Sendable {
    public let round: String
    public let stat: Statistic
    public let by: [String]
    public let groups: [AggregateGroup]
    /// The smallest number of distinct evaluators behind any value in the output (SPEC §6
    /// `min_group`); for weighted totals and ranks, behind any (team, criterion) mean that
    /// enters a total.
    public let minGroup: Int
}

/// Computes statistics exactly. Scores are integers in steps of their criterion; grouped by
/// team they are first scaled to 0–100 by their criterion's range (100·units/steps) so that
/// criteria on different scales can be combined; grouped by (team, criterion) they stay in
/// the criterion's own units.
public struct Aggregator {
    public let config: RoundConfig
    public let precision: Int
    /// For trimmed_mean: the fraction dropped at each end; nil drops one score at each end.
    public let trim: Fixed?
    public let advance: Int?

    let criteria: [String: Criterion]

    public init(config: RoundConfig, precision: Int, trim: Fixed?, advance: Int?) {
        self.config = config; self.precision = precision; self.trim = trim; self.advance = advance
        criteria = config.criteriaByID
    }

    typealias R = Rational

    func scaled(_ s: OpenedScore) throws -> R {
        let c = criteria[s.criterion]!
        return try R(Int128(s.units) * 100, Int128(c.stepCount))
    }

    func raw(_ s: OpenedScore) throws -> R {
        let c = criteria[s.criterion]!
        return try R(Int128(c.min.micros) + Int128(s.units) * Int128(c.step.micros), Int128(Fixed.scale))
    }

    public func compute(_ stat: Statistic, by: [String], scores: [OpenedScore]) throws -> AggregateResult {
        do {
            return try computeExact(stat, by: by, scores: scores)
        } catch is Rational.Overflow {
            throw VaultError.internalError("an aggregate overflowed exact arithmetic")
        }
    }

    func computeExact(_ stat: Statistic, by: [String], scores: [OpenedScore]) throws -> AggregateResult {
        let byCell = by == ["team", "criterion"]
        guard by == ["team"] || byCell else { throw VaultError.usage("--by must be team or team,criterion") }
        if (stat == .weightedTotal || stat == .rank) && byCell {
            throw VaultError.usage("\(stat.rawValue) is per team: use --by team")
        }
        guard !scores.isEmpty else { throw VaultError.invalidData("round \(config.id) has no sealed scores") }
        let criterionOrder = Dictionary(uniqueKeysWithValues: config.criteria.enumerated().map { ($1.id, $0) })
        // Cells: (team, criterion) → scores.
        var cells: [String: [String: [OpenedScore]]] = [:]
        for s in scores { cells[s.team, default: [:]][s.criterion, default: []].append(s) }
        func distinct(_ list: [OpenedScore]) -> Int { Set(list.map(\.evaluator)).count }

        if stat == .weightedTotal || stat == .rank {
            let totalWeight = try config.criteria.reduce(R.zero) { acc, c throws(Rational.Overflow) in try acc.adding(try R(Int128(c.weight.micros), Int128(Fixed.scale))) }
            var groups: [(team: String, total: R, n: Int)] = []
            var minGroup = Int.max
            for team in cells.keys.sorted() {
                var total = R.zero
                for c in config.criteria {
                    guard let list = cells[team]?[c.id], !list.isEmpty else {
                        throw VaultError.invalidData("\(stat.rawValue) needs every criterion scored for every team: \(team) has no scores for \(c.id)")
                    }
                    var values = try list.map(scaled)
                    defer { Self.zero(&values) }
                    let mean = try sum(values).divided(by: R(Int128(list.count)))
                    let w = try R(Int128(c.weight.micros), Int128(Fixed.scale)).divided(by: totalWeight)
                    total = try total.adding(try w.multiplied(by: mean))
                    minGroup = Swift.min(minGroup, distinct(list))
                }
                groups.append((team, total, distinct(cells[team]!.values.flatMap { $0 })))
            }
            var out = try groups.map { AggregateGroup(team: $0.team, criterion: nil, n: $0.n, value: try $0.total.decimal(places: precision)) }
            if stat == .rank {
                let order = groups.indices.sorted { a, b in
                    groups[a].total != groups[b].total ? groups[b].total < groups[a].total : groups[a].team < groups[b].team
                }
                var ranked: [AggregateGroup] = []
                for (position, i) in order.enumerated() {
                    var g = out[i]
                    g.rank = position + 1
                    g.tie = groups.indices.contains { $0 != i && groups[$0].total == groups[i].total }
                    if let advance { g.advance = position < advance }
                    ranked.append(g)
                }
                out = ranked
            }
            return AggregateResult(round: config.id, stat: stat, by: by, groups: out, minGroup: minGroup)
        }

        var groups: [AggregateGroup] = []
        for team in cells.keys.sorted() {
            let keys: [String?] = byCell ? cells[team]!.keys.sorted { criterionOrder[$0]! < criterionOrder[$1]! } : [nil]
            for criterion in keys {
                let list = criterion.map { cells[team]![$0]! } ?? cells[team]!.values.flatMap { $0 }
                var values = try list.map { byCell ? try raw($0) : try scaled($0) }
                defer { Self.zero(&values) }
                groups.append(AggregateGroup(team: team, criterion: criterion, n: distinct(list),
                                             value: try value(stat, values, n: distinct(list), group: criterion.map { "\(team)/\($0)" } ?? team)))
            }
        }
        return AggregateResult(round: config.id, stat: stat, by: by, groups: groups, minGroup: groups.map(\.n).min() ?? 0)
    }

    func sum(_ values: [R]) throws(Rational.Overflow) -> R {
        var acc = R.zero
        for v in values { acc = try acc.adding(v) }
        return acc
    }

    /// Overwrites per-score values once they are counted: they are individual scores, so they
    /// should not outlive the computation (best effort: Swift may have copied them meanwhile).
    static func zero(_ values: inout [R]) {
        for i in values.indices { values[i] = .zero }
    }

    func value(_ stat: Statistic, _ values: [R], n: Int, group: String) throws -> String {
        var sorted = values.sorted()
        defer { Self.zero(&sorted) }
        let count = try R(Int128(values.count))
        switch stat {
        case .count:
            return String(n)
        case .mean:
            return try sum(values).divided(by: count).decimal(places: precision)
        case .median:
            let m = sorted.count / 2
            let median = sorted.count % 2 == 1 ? sorted[m] : try sorted[m - 1].adding(sorted[m]).divided(by: R(2))
            return try median.decimal(places: precision)
        case .trimmedMean:
            let k = trim.map { Int((Int64(sorted.count) * $0.micros) / Fixed.scale) } ?? 1
            guard sorted.count - 2 * k >= 1 else {
                throw VaultError.invalidData("trimmed_mean drops \(k) score(s) at each end, but group \(group) has only \(sorted.count)")
            }
            let kept = Array(sorted[k..<(sorted.count - k)])
            return try sum(kept).divided(by: R(Int128(kept.count))).decimal(places: precision)
        case .stddev:
            let mean = try sum(values).divided(by: count)
            var acc = R.zero
            for v in values { let d = try v.subtracting(mean); acc = try acc.adding(try d.multiplied(by: d)) }
            return try acc.divided(by: count).squareRoot(places: precision)
        case .min:
            return try sorted.first!.decimal(places: precision)
        case .max:
            return try sorted.last!.decimal(places: precision)
        case .weightedTotal, .rank:
            preconditionFailure("handled per team")
        }
    }
}
