/// The statistics of design: Aggregates.
public enum Statistic: String, Sendable, CaseIterable {
    case count, mean, median, trimmedMean = "trimmed_mean", stddev, min, max, weightedTotal = "weighted_total", rank
}

/// One output group: a team, or a (team, criterion) cell.
public struct AggregateGroup: Sendable, Equatable {
    public let team: String
    public let criterion: String?
    /// The smallest number of distinct evaluators in any (team, criterion) cell behind this
    /// group: a cell's own count; for a team, the least of its scored cells (design: Aggregates).
    public let n: Int
    /// The value, already rounded half-even for output.
    public let value: String
    public var rank: Int?
    public var tie: Bool = false
    public var advance: Bool?
}

/// One (team, criterion) cell that contributes to a result, and its number of distinct evaluators.
public struct AggregateCell: Sendable, Equatable {
    public let team: String
    public let criterion: String
    public let n: Int
}

/// The computed answer to a reveal request, before it is printed.
public struct AggregateResult: Sendable {
    public let round: String
    public let stat: Statistic
    public let by: [String]
    public let groups: [AggregateGroup]
    /// Every (team, criterion) cell that contributes to an output group, in the round's team
    /// order, then its criterion order: the order in which a refusal names the first short cell.
    /// Built on demand from the per-cell counts (a round of 10,000,000 cells keeps only those).
    public var cells: [AggregateCell] { cellCounts.all }
    let cellCounts: CellCounts

    /// The smallest number of distinct evaluators in any (team, criterion) cell contributing to
    /// any output group, whatever the statistic and grouping (design: Policy language
    /// `min_group`, Aggregates). Why per cell, not per team: grouped by team, one equation per
    /// team over several criteria on small grids can have a single solution when each cell holds
    /// one score, even if the team has three evaluators.
    public var minGroup: Int { cellCounts.smallest }

    init(round: String, stat: Statistic, by: [String], groups: [AggregateGroup], cells: CellCounts) {
        self.round = round; self.stat = stat; self.by = by; self.groups = groups; cellCounts = cells
    }
}

/// The number of evaluators of every (team, criterion) cell of a round; the scored ones contribute.
struct CellCounts: Sendable {
    let teams: [String], criteria: [String]
    let counts: [UInt32]
    let smallest: Int

    init(teams: [String], criteria: [String], counts: [UInt32]) {
        self.teams = teams; self.criteria = criteria; self.counts = counts
        var m = UInt32.max
        for n in counts where n > 0 && n < m { m = n }
        smallest = m == UInt32.max ? 0 : Int(m)
    }

    var all: [AggregateCell] {
        var out: [AggregateCell] = []
        for (i, n) in counts.enumerated() where n > 0 {
            out.append(AggregateCell(team: teams[i / criteria.count], criterion: criteria[i % criteria.count], n: Int(n)))
        }
        return out
    }
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

    public init(config: RoundConfig, precision: Int, trim: Fixed?, advance: Int?) {
        self.config = config; self.precision = precision; self.trim = trim; self.advance = advance
    }

    typealias R = Rational

    public func compute(_ stat: Statistic, by: [String], over round: CellTable) throws -> AggregateResult {
        do {
            return try computeExact(stat, by: by, over: round)
        } catch is Rational.Overflow {
            throw VaultError.internalError("an aggregate overflowed exact arithmetic")
        }
    }

    /// One pass over the scores fills per-(team, criterion) cells — count and exact sum of
    /// units — and a bit per (team, evaluator); weighted totals and ranks need nothing else.
    /// Only the order statistics (median, trimmed mean, stddev, min, max) gather the values.
    /// Each (evaluator, team, criterion) appears once in the latest scores, so a cell's count
    /// is its number of distinct evaluators.
    func computeExact(_ stat: Statistic, by: [String], over round: CellTable) throws -> AggregateResult {
        let byCell = by == ["team", "criterion"]
        guard by == ["team"] || byCell else { throw VaultError.usage("--by must be team or team,criterion") }
        if (stat == .weightedTotal || stat == .rank) && byCell {
            throw VaultError.usage("\(stat.rawValue) is per team: use --by team")
        }
        guard round.scoreCount > 0 else { throw VaultError.invalidData("round \(config.id) has no sealed scores") }
        let criteria = config.criteria, C = criteria.count, T = config.teams.count
        let count = round.count
        let evaluatorsOfTeam = round.evaluatorsOfTeam
        let teams = (0..<T).filter { evaluatorsOfTeam[$0] > 0 }.sorted { config.teams[$0] < config.teams[$1] }
        // Every scored cell contributes to some output group (a team with scores is in the
        // output, and each of its scored cells enters its value), in round order.
        let cells = CellCounts(teams: config.teams, criteria: criteria.map(\.id), counts: count)
        func smallestCell(_ t: Int) -> Int {
            var m = Int.max
            for c in 0..<C where count[t * C + c] > 0 { m = Swift.min(m, Int(count[t * C + c])) }
            return m == Int.max ? 0 : m
        }

        if stat == .weightedTotal || stat == .rank {
            let totalWeight = try criteria.reduce(R.zero) { acc, c throws(Rational.Overflow) in try acc.adding(try R(Int128(c.weight.micros), Int128(Fixed.scale))) }
            var groups: [(team: String, total: R, n: Int)] = []
            for t in teams {
                var sum = R.zero
                for (c, criterion) in criteria.enumerated() {
                    let n = Int(count[t * C + c])
                    guard n > 0 else {
                        throw VaultError.invalidData("\(stat.rawValue) needs every criterion scored for every team: \(config.teams[t]) has no scores for \(criterion.id)")
                    }
                    // The mean of the scores scaled to 0–100: 100·Σunits / (steps·n), exactly.
                    let mean = try R(round.sum(t * C + c) * 100, Int128(criterion.stepCount) * Int128(n))
                    let w = try R(Int128(criterion.weight.micros), Int128(Fixed.scale)).divided(by: totalWeight)
                    sum = try sum.adding(try w.multiplied(by: mean))
                }
                groups.append((config.teams[t], sum, smallestCell(t)))
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
            return AggregateResult(round: config.id, stat: stat, by: by, groups: out, cells: cells)
        }

        // count and mean need only each cell's count and sum (all a tally round has).
        if round.values == nil && (stat == .count || stat == .mean) {
            var groups: [AggregateGroup] = []
            for t in teams {
                let present = (0..<C).filter { count[t * C + $0] > 0 }
                for c in byCell ? present.map(Optional.some) : [nil] {
                    let value: String
                    if stat == .count {
                        value = String(c.map { Int(count[t * C + $0]) } ?? evaluatorsOfTeam[t])
                    } else if let c {
                        // min + step·Σunits / n, exactly.
                        let n = Int128(count[t * C + c]), cr = criteria[c]
                        value = try R(Int128(cr.min.micros) * n + Int128(cr.step.micros) * round.sum(t * C + c), Int128(Fixed.scale) * n)
                            .decimal(places: precision)
                    } else {
                        // Σ over cells of 100·Σunits/steps, over the number of scores.
                        var acc = R.zero
                        for k in present { acc = try acc.adding(try R(round.sum(t * C + k) * 100, Int128(criteria[k].stepCount))) }
                        value = try acc.divided(by: R(Int128(present.reduce(0) { $0 + Int(count[t * C + $1]) }))).decimal(places: precision)
                    }
                    groups.append(AggregateGroup(team: config.teams[t], criterion: c.map { criteria[$0].id },
                                                 n: c.map { Int(count[t * C + $0]) } ?? smallestCell(t), value: value))
                }
            }
            return AggregateResult(round: config.id, stat: stat, by: by, groups: groups, cells: cells)
        }

        // Order statistics: the values of each group, scaled to 0–100 by team, raw by cell.
        guard let all = round.values else { throw VaultError.internalError("\(stat.rawValue) needs the individual values, which were not kept") }
        var units = [[Int64]](repeating: [], count: T * C)
        defer { for i in units.indices { for j in units[i].indices { units[i][j] = 0 } } }
        for v in all { units[Int(v.cell)].append(v.units) }
        func scaled(_ u: Int64, _ c: Int) throws(Rational.Overflow) -> R { try R(Int128(u) * 100, Int128(criteria[c].stepCount)) }
        func raw(_ u: Int64, _ c: Int) throws(Rational.Overflow) -> R {
            try R(Int128(criteria[c].min.micros) + Int128(u) * Int128(criteria[c].step.micros), Int128(Fixed.scale))
        }
        var groups: [AggregateGroup] = []
        for t in teams {
            let present = (0..<C).filter { Int(count[t * C + $0]) > 0 }
            for c in byCell ? present.map(Optional.some) : [nil] {
                var values: [R] = []
                for k in c.map({ [$0] }) ?? present { for u in units[t * C + k] { values.append(byCell ? try raw(u, k) : try scaled(u, k)) } }
                defer { Self.zero(&values) }
                // count's value is the group's distinct evaluators (for a team, all who scored
                // it); n is its smallest cell.
                let evaluators = c.map { Int(count[t * C + $0]) } ?? evaluatorsOfTeam[t]
                let name = c.map { "\(config.teams[t])/\(criteria[$0].id)" } ?? config.teams[t]
                groups.append(AggregateGroup(team: config.teams[t], criterion: c.map { criteria[$0].id }, n: c.map { Int(count[t * C + $0]) } ?? smallestCell(t),
                                             value: try value(stat, values, n: evaluators, group: name)))
            }
        }
        return AggregateResult(round: config.id, stat: stat, by: by, groups: groups, cells: cells)
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
