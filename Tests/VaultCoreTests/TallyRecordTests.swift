import Foundation
import Testing
import TestSupport
@testable import VaultCore
import VaultCrypto

/// A tally of the model case run through the library on real OpenSSL arithmetic — ceremony,
/// encrypted scores with proofs, cell sums, 2-of-3 partial decryptions, statistics — checked
/// against a computation on the plain scores, and its record checked by the independent Python
/// verifier (Tests/tools/verify_tally.py, written from docs/tally-format.md alone), which must
/// also refuse it after single changes.
@Suite("Tally record")
struct TallyRecordTests {
    static let roundFile = """
        id = "R2"
        title = "Second evaluation"
        teams = ["lg-ai-research", "naver-cloud", "sk-telecom", "upstage"]
        [reveal]
        holders = ["chair", "cm-1", "cm-2"]
        threshold = 2
        [[criteria]]
        id = "reasoning"
        weight = 60
        min = 0
        max = 100
        step = 0.5
        [[criteria]]
        id = "safety"
        weight = 40
        min = 1
        max = 10
        step = 1
        [[publish]]
        stat = "rank"
        by = ["team"]
        advance = 2
        [[publish]]
        stat = "mean"
        by = ["team", "criterion"]
        """

    /// A tally built in one process: holders' polynomials, 5 evaluators scoring every place.
    struct Fixture {
        let config: RoundConfig
        let polynomials: [[P256.Scalar]]
        let ceremony: [TallyRecord.CeremonyEntry]
        let key: Tally.PublicKey
        let scores: [TallyRecord.Score]
        /// The plain grid indices, for the independent computation.
        let plain: [(evaluator: String, team: String, criterion: String, units: Int64)]
        let manifestRoot = SHA256.hash(data: Array("a manifest".utf8))

        init() throws {
            config = try RoundFile.parse(TallyRecordTests.roundFile, file: "R2.round")
            let holders = config.reveal.holders.map(\.rawValue)
            polynomials = holders.map { _ in Tally.Ceremony.polynomial(seed: SecureBytes.random(count: 32), threshold: 2) }
            var entries: [TallyRecord.CeremonyEntry] = []
            for (j, poly) in polynomials.enumerated() {
                let ctx = Tally.Ceremony.context(vault: "vault-1", round: "R2", holders: holders, threshold: 2, index: j + 1)
                let (coefficients, proofs) = Tally.Ceremony.commit(polynomial: poly, context: ctx)
                entries.append(.init(holder: holders[j], index: j + 1, coefficients: coefficients, proofs: proofs))
            }
            ceremony = entries
            key = Tally.PublicKey(Tally.Ceremony.jointKey(commitments: entries.map(\.coefficients)))
            var scores: [TallyRecord.Score] = [], plain: [(String, String, String, Int64)] = []
            for e in 1...5 {
                for (t, team) in config.teams.enumerated() {
                    for c in config.criteria {
                        let units = Int64((e * 37 + t * 11 + Int(c.stepCount)) % Int(c.stepCount + 1))
                        let grid = TallyCounting.grid(c)
                        let ctx = Tally.context(vault: "vault-1", round: "R2", key: key.point, evaluator: "ev-\(e)", team: team, criterion: c.id, grid: grid)
                        scores.append(.init(evaluator: "ev-\(e)", team: team, criterion: c.id,
                                            ciphertext: Tally.encrypt(index: Int(units), grid: grid, key: key, context: ctx)))
                        plain.append(("ev-\(e)", team, c.id, units))
                    }
                }
            }
            self.scores = scores
            self.plain = plain.map { (evaluator: $0.0, team: $0.1, criterion: $0.2, units: $0.3) }
        }

        /// The scores as a batch carries them: place and encoding.
        var inputs: [TallyCounting.Input] {
            scores.map { s in
                TallyCounting.Input(evaluator: s.evaluator, team: config.teams.firstIndex(of: s.team)!,
                                    criterion: config.criteria.firstIndex { $0.id == s.criterion }!, bytes: s.ciphertext.encoded)
            }
        }

        func secretShare(_ i: Int) -> P256.Scalar {
            polynomials.reduce(P256.Scalar.zero) { $0 + Tally.Ceremony.share(polynomial: $1, for: i) }
        }

        /// Holders `indices` decrypt every cell; the record of that reveal.
        func record(_ request: DeclaredReveal, holders indices: [Int] = [1, 3]) throws -> TallyRecord {
            var counted = try TallyCounting.verifyAndSum(config: config, key: key, vault: "vault-1", chunks: 1) { _ in inputs }
            let cells = counted.cells
            let holders = config.reveal.holders.map(\.rawValue)
            let partials: [[TallyRecord.Partial]] = cells.map { cell in
                indices.map { i in
                    let pub = Tally.Ceremony.publicShare(index: i, commitments: ceremony.map(\.coefficients))
                    let d = Tally.PartialDecryption(x: cell.x, secretShare: secretShare(i), publicShare: pub,
                                                    context: cell.context(vault: "vault-1", round: "R2", manifestRoot: manifestRoot))
                    return TallyRecord.Partial(holder: holders[i - 1], index: i, decryption: d)
                }
            }
            counted.cells = try TallyCounting.decrypt(cells, partials: partials, config: config)
            let result = try TallyCounting.result(config: config, counted: counted, request: request)
            return TallyRecord(vault: "vault-1", config: config, manifestRoot: manifestRoot, ceremony: ceremony, jointKey: key.point,
                               scores: scores, cells: counted.cells, partials: partials, request: request, result: result)
        }

        /// The same statistics over the plain scores, through the sealed rounds' path.
        func plainResult(_ request: DeclaredReveal) throws -> AggregateResult {
            var table = CellTable(config: config, evaluators: 5, keepValues: true)
            var teamsOf: [String: Set<String>] = [:]
            for p in plain {
                let t = config.teams.firstIndex(of: p.team)!, c = config.criteria.firstIndex { $0.id == p.criterion }!
                table.add(cell: t * config.criteria.count + c, units: p.units)
                teamsOf[p.team, default: []].insert(p.evaluator)
            }
            table.setEvaluatorsOfTeam(config.teams.map { teamsOf[$0]?.count ?? 0 })
            return try Aggregator(config: config, precision: request.precision, trim: request.trim, advance: request.advance)
                .compute(request.stat, by: request.by, over: table)
        }
    }

    static func python(_ record: JSONValue, in dir: TemporaryFolder) throws -> Subprocess.Result {
        let path = dir.path + "/record-\(UUID().uuidString).json"
        try Data(CanonicalJSON.encode(record)).write(to: URL(fileURLWithPath: path))
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/verify_tally.py").path
        return try Subprocess.run("/usr/bin/env", ["python3", script, path], environment: Subprocess.baseEnvironment, directory: dir.path, timeout: 300)
    }

    @Test("every proof holds; totals, ranks and means equal the computation on the plain scores; any 2 of 3 holders agree")
    func totalsMatchPlainScores() throws {
        let f = try Fixture()
        #expect(f.config.criteria.map { TallyCounting.grid($0).bitCount } == [8, 4])
        for c in f.config.criteria {
            let grid = TallyCounting.grid(c)
            let items = f.scores.filter { $0.criterion == c.id }.map { s in
                Tally.ScoreToVerify(s.ciphertext, context: Tally.context(vault: "vault-1", round: "R2", key: f.key.point, evaluator: s.evaluator,
                                                                        team: s.team, criterion: s.criterion, grid: grid))
            }
            #expect(Tally.verify(items, grid: grid, key: f.key) == [])
        }
        for request in f.config.publish + [DeclaredReveal(stat: .mean, by: ["team"]), DeclaredReveal(stat: .count, by: ["team"]),
                                           DeclaredReveal(stat: .weightedTotal, by: ["team"], precision: 3)] {
            let record = try f.record(request)
            let plain = try f.plainResult(request)
            #expect(record.result.groups == plain.groups, "\(request.stat) by \(request.by)")
            for cell in record.cells {
                let expected = f.plain.filter { $0.team == cell.team && $0.criterion == cell.criterion }.reduce(0) { $0 + Int($1.units) }
                #expect(cell.total == expected)
            }
        }
        let rank = f.config.publish[0]
        let a = try f.record(rank, holders: [1, 2]), b = try f.record(rank, holders: [2, 3])
        #expect(a.cells.map(\.total) == b.cells.map(\.total))
        // Summing verifies: a score whose place was changed is refused, naming it, in any chunk.
        var moved = f.inputs
        moved[7] = TallyCounting.Input(evaluator: moved[7].evaluator, team: (moved[7].team + 1) % 4, criterion: moved[7].criterion, bytes: moved[7].bytes)
        let inputs = moved
        #expect(throws: VaultError.self) {
            try TallyCounting.verifyAndSum(config: f.config, key: f.key, vault: "vault-1", chunks: 4) { Array(inputs[($0 * 10)..<min($0 * 10 + 10, inputs.count)]) }
        }
        // Bound to its vault: the same scores counted in another vault are refused.
        #expect(throws: VaultError.self) {
            try TallyCounting.verifyAndSum(config: f.config, key: f.key, vault: "vault-2", chunks: 1) { _ in f.inputs }
        }
    }

    @Test("the independent Python verifier accepts the record and refuses it after single changes")
    func pythonVerifier() throws {
        let f = try Fixture()
        let dir = TemporaryFolder()
        // Every statistic a tally round can reveal, both groupings.
        for request in [DeclaredReveal(stat: .mean, by: ["team", "criterion"]), DeclaredReveal(stat: .mean, by: ["team"], precision: 3),
                        DeclaredReveal(stat: .count, by: ["team"]), DeclaredReveal(stat: .count, by: ["team", "criterion"]),
                        DeclaredReveal(stat: .weightedTotal, by: ["team"], precision: 0)] {
            let r = try Self.python(try f.record(request).json, in: dir)
            #expect(r.status == 0, "\(request.stat) by \(request.by): \(r.stderr)")
        }
        let record = try f.record(f.config.publish[0]).json
        let ok = try Self.python(record, in: dir)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("tally record verified"))
        guard case .object(var top) = record, case .array(var scores) = top["scores"]!, case .array(var cells) = top["cells"]!,
              case .array(var results) = top["results"]! else { Issue.record("unexpected record shape"); return }
        var changes: [(String, JSONValue)] = []
        // A score moved to another evaluator: its proof is bound to the first.
        if case .object(var s) = scores[0] {
            s["evaluator"] = .string("ev-9"); scores[0] = .object(s)
            var t = top; t["scores"] = .array(scores); changes.append(("score moved", .object(t)))
        }
        if case .array(let original) = record["scores"]! { scores = original }
        // A cell's total raised by one.
        if case .object(var c) = cells[0], case .integer(let total) = c["total"]! {
            c["total"] = .integer(total + 1); cells[0] = .object(c)
            var t = top; t["cells"] = .array(cells); changes.append(("cell total", .object(t)))
        }
        if case .array(let original) = record["cells"]! { cells = original }
        // A holder's partial decryption dropped: fewer than the threshold.
        if case .object(var c) = cells[1], case .array(let parts) = c["partials"]! {
            c["partials"] = .array(Array(parts.dropLast())); cells[1] = .object(c)
            var t = top; t["cells"] = .array(cells); changes.append(("one partial", .object(t)))
        }
        // A published rank swapped.
        if case .object(var r) = results[0] {
            r["value"] = .string("99.99"); results[0] = .object(r)
            var t = top; t["results"] = .array(results); changes.append(("result value", .object(t)))
        }
        // A score dropped: its cell's sums no longer match.
        top["scores"] = .array(Array(scores.dropFirst()))
        changes.append(("score dropped", .object(top)))
        #expect(changes.count == 5)
        for (what, changed) in changes {
            let r = try Self.python(changed, in: dir)
            #expect(r.status == 1, "\(what): \(r.stdout) \(r.stderr)")
        }
    }
}
