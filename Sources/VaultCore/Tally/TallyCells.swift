import Foundation
import VaultCrypto

/// One (team, criterion) cell of a tally round: how many scores it counts and the sums of their
/// ciphertexts, (X, Y) = (Σ X, Σ Y). Only this pair is ever decrypted, never a single score.
public struct TallyCell: Sendable {
    public let team: String
    public let criterion: String
    public let count: Int
    public let x: P256.Point
    public let y: P256.Point
    /// The sum of the cell's grid indices, once decrypted.
    public internal(set) var total: Int?

    /// The context a holder's partial decryption of this cell is bound to.
    public func context(vault: String, round: String, manifestRoot: [UInt8]) -> [UInt8] {
        Tally.PartialDecryption.context(vault: vault, round: round, manifestRoot: manifestRoot, team: team, criterion: criterion)
    }
}

/// Adding up and decrypting a tally round's cells.
public enum TallyCounting {
    /// The grid of a criterion: its indices 0…stepCount as bits.
    public static func grid(_ c: Criterion) -> Tally.Grid { Tally.Grid(maxIndex: Int(c.stepCount)) }

    /// One encrypted score as stored: its evaluator, place (indices into the round's teams and
    /// criteria) and encoding.
    public struct Input: Sendable {
        public let evaluator: String
        public let team: Int
        public let criterion: Int
        public let bytes: [UInt8]
        public init(evaluator: String, team: Int, criterion: Int, bytes: [UInt8]) {
            self.evaluator = evaluator; self.team = team; self.criterion = criterion; self.bytes = bytes
        }
    }

    /// Verifies every score's proof and adds the scores into their cells, a chunk at a time on
    /// both cores, keeping only the running sums (so memory does not grow with the round).
    /// `chunk(i)` gives chunk i of `chunks` (each at most `Tally.verificationChunk` scores, each
    /// score the latest of its evaluator for its place). Throws, naming the first score whose
    /// proof fails, before any total exists.
    public static func verifyAndSum(config: RoundConfig, key: Tally.PublicKey, vault: String, chunks: Int,
                                     chunk: (Int) throws -> [Input]) throws -> Counted {
        let C = config.criteria.count
        let grids = config.criteria.map(grid)
        let accumulator = SumAccumulator()
        // Each thread reads its own chunk and adds into the accumulator under its lock.
        try Parallel.forEach(chunks) { i in
            let inputs = try chunk(i)
            var byCriterion = [[(Input, Tally.EncryptedScore)]](repeating: [], count: C)
            for input in inputs {
                guard (0..<config.teams.count).contains(input.team), (0..<C).contains(input.criterion) else {
                    throw VaultError.integrity("a tally score names a place outside round \(config.id)")
                }
                let score: Tally.EncryptedScore
                do { score = try Tally.EncryptedScore(decoding: input.bytes, bitCount: grids[input.criterion].bitCount) } catch {
                    throw VaultError.integrity("the encrypted score of \(input.evaluator) for \(config.teams[input.team])/\(config.criteria[input.criterion].id) is malformed")
                }
                byCriterion[input.criterion].append((input, score))
            }
            var partial = PartialSums()
            for (c, list) in byCriterion.enumerated() where !list.isEmpty {
                let items = list.map { input, score in
                    Tally.ScoreToVerify(score, context: Tally.context(vault: vault, round: config.id, key: key.point, evaluator: input.evaluator,
                                                                      team: config.teams[input.team], criterion: config.criteria[c].id, grid: grids[c]))
                }
                if let bad = Tally.verify(items, grid: grids[c], key: key).first {
                    let input = list[bad].0
                    throw VaultError.integrity("the range proof of \(input.evaluator)'s score for \(config.teams[input.team])/\(config.criteria[c].id) does not hold: the batch was altered or not made by EvalVault")
                }
                for (input, score) in list {
                    partial.add(cell: input.team * C + c, score)
                    partial.evaluators.insert(TeamEvaluator(team: input.team, evaluator: input.evaluator))
                }
            }
            accumulator.merge(partial)
        }
        return accumulator.counted(config: config, grids: grids)
    }

    /// The scored cells with their sums, and how many distinct evaluators scored each team.
    public struct Counted: Sendable {
        public var cells: [TallyCell]
        public let evaluatorsOfTeam: [Int]
    }

    /// The same over scores already in memory, in chunks of `Tally.verificationChunk`.
    public static func verifyAndSum(config: RoundConfig, key: Tally.PublicKey, vault: String, inputs: [Input]) throws -> Counted {
        let chunk = Tally.verificationChunk
        return try verifyAndSum(config: config, key: key, vault: vault, chunks: (inputs.count + chunk - 1) / chunk) { i in
            Array(inputs[(i * chunk)..<min((i + 1) * chunk, inputs.count)])
        }
    }

    /// Each cell's total from k verified partial decryptions: Y − Σ λⱼ·Dⱼ = total·H, found by
    /// baby-step giant-step within 0…count·stepCount. A total outside that range cannot come from
    /// valid proofs, so it is reported as tampering.
    public static func decrypt(_ cells: [TallyCell], partials: [[TallyRecord.Partial]], config: RoundConfig) throws -> [TallyCell] {
        let steps = Dictionary(uniqueKeysWithValues: config.criteria.map { ($0.id, Int($0.stepCount)) })
        let bound = zip(cells, cells.map { steps[$0.criterion] ?? 0 }).map { $0.count * $1 }.max() ?? 0
        let log = Tally.DiscreteLog(bound: bound)
        return try zip(cells, partials).map { cell, parts in
            var c = cell
            let m = Tally.combine(y: cell.y, shares: parts.map { ($0.index, $0.decryption.share) })
            guard let total = log.solve(m), total <= cell.count * (steps[cell.criterion] ?? 0) else {
                throw VaultError.integrity("the total of cell \(cell.team)/\(cell.criterion) does not decrypt to a sum of grid scores")
            }
            c.total = total
            return c
        }
    }

    /// The statistics of a decrypted tally: the same exact arithmetic as a sealed round's, from
    /// the cells' counts and totals (the individual values never exist).
    public static func result(config: RoundConfig, counted: Counted, request: DeclaredReveal) throws -> AggregateResult {
        try Aggregator(config: config, precision: request.precision, trim: request.trim, advance: request.advance)
            .compute(request.stat, by: request.by, over: try table(config: config, counted: counted))
    }

    /// The cell table of decrypted cells: counts and sums, and who scored each team.
    static func table(config: RoundConfig, counted: Counted) throws -> CellTable {
        var table = CellTable(config: config, evaluators: 0, keepValues: false)
        let teamIndex = Dictionary(uniqueKeysWithValues: config.teams.enumerated().map { ($1, $0) })
        let criterionIndex = Dictionary(uniqueKeysWithValues: config.criteria.enumerated().map { ($1.id, $0) })
        for cell in counted.cells {
            guard let t = teamIndex[cell.team], let c = criterionIndex[cell.criterion], let total = cell.total else {
                throw VaultError.internalError("a tally cell was not decrypted")
            }
            table.setCell(t * config.criteria.count + c, count: cell.count, total: Int64(total))
        }
        table.setEvaluatorsOfTeam(counted.evaluatorsOfTeam)
        return table
    }
}

struct TeamEvaluator: Hashable { let team: Int; let evaluator: String }

/// Per-cell running sums of one chunk: count, Σ X and, per bit, Σ Cᵢ; who scored which team.
struct PartialSums {
    var sums: [Int: (count: Int, x: P256.Point, bits: [P256.Point])] = [:]
    var evaluators: Set<TeamEvaluator> = []

    mutating func add(cell: Int, _ s: Tally.EncryptedScore) {
        if let e = sums[cell] {
            sums[cell] = (e.count + 1, e.x + s.x, zip(e.bits, s.bits).map { $0 + $1.commitment })
        } else {
            sums[cell] = (1, s.x, s.bits.map(\.commitment))
        }
    }
}

/// The round's running sums, merged from every chunk under a lock.
final class SumAccumulator: @unchecked Sendable {
    // @unchecked: every access to `sums` holds `lock`.
    private let lock = NSLock()
    private var sums = PartialSums()

    func merge(_ other: PartialSums) {
        lock.lock(); defer { lock.unlock() }
        sums.evaluators.formUnion(other.evaluators)
        for (cell, e) in other.sums {
            if let mine = sums.sums[cell] {
                sums.sums[cell] = (mine.count + e.count, mine.x + e.x, zip(mine.bits, e.bits).map { $0 + $1 })
            } else {
                sums.sums[cell] = e
            }
        }
    }

    /// The scored cells in round order, Y = Σ wᵢ·(Σ Cᵢ).
    func counted(config: RoundConfig, grids: [Tally.Grid]) -> TallyCounting.Counted {
        lock.lock(); defer { lock.unlock() }
        let C = config.criteria.count
        var perTeam = [Int](repeating: 0, count: config.teams.count)
        for e in sums.evaluators { perTeam[e.team] += 1 }
        let cells = sums.sums.keys.sorted().map { cell in
            let e = sums.sums[cell]!, c = cell % C
            return TallyCell(team: config.teams[cell / C], criterion: config.criteria[c].id, count: e.count, x: e.x,
                             y: P256.multiScalarMultiply(e.bits, grids[c].weights.map { P256.Scalar($0) }), total: nil)
        }
        return TallyCounting.Counted(cells: cells, evaluatorsOfTeam: perTeam)
    }
}
