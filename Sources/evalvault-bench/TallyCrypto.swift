import ArgumentParser
import Foundation
import VaultCore
import VaultCrypto

/// Per-core rates of a tally round's cryptography, in this process on one thread: sealing a score
/// with its range proof, and verifying proofs from their bytes in batches as counting does.
struct TallyCryptoOnce: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tally-crypto", abstract: "Measure tally sealing and proof verification on one core.", shouldDisplay: false)

    @Option(help: "Scores to seal and verify.") var scores = 2_000
    @Option(help: "Largest grid index (0–100 in steps of 0.5 is 200).") var maxIndex = 200

    func run() throws {
        let grid = Tally.Grid(maxIndex: maxIndex)
        let key = Tally.PublicKey(P256.Point.base(.random()))
        let setup = Date()
        _ = Tally.encrypt(index: 0, grid: grid, key: key, context: [])  // tables made here, once per process
        let tables = Date().timeIntervalSince(setup)
        var sealed = [(bytes: [UInt8], context: [UInt8])]()
        sealed.reserveCapacity(scores)
        let t0 = Date()
        for i in 0..<scores {
            let ctx = Tally.context(vault: "bench", round: "T", key: key.point, evaluator: "ev-\(i % 100)", team: "t\(i % 10)", criterion: "c\(i % 7)", grid: grid)
            sealed.append((Tally.encrypt(index: i % (maxIndex + 1), grid: grid, key: key, context: ctx).encoded, ctx))
        }
        let seal = Date().timeIntervalSince(t0)
        let t1 = Date()
        var bad = 0
        for start in stride(from: 0, to: sealed.count, by: Tally.verificationChunk) {
            let items = try sealed[start..<min(start + Tally.verificationChunk, sealed.count)].map {
                Tally.ScoreToVerify(try Tally.EncryptedScore(decoding: $0.bytes, bitCount: grid.bitCount), context: $0.context)
            }
            bad += Tally.verify(items, grid: grid, key: key).count
        }
        let verify = Date().timeIntervalSince(t1)
        guard bad == 0 else { throw ValidationError("\(bad) valid proofs were refused") }
        WorkerResult.report("tables_s", tables)
        WorkerResult.report("seal_per_s", Double(scores) / seal)
        WorkerResult.report("verify_per_s", Double(scores) / verify)
        WorkerResult.report("bytes_per_score", Tally.EncryptedScore.byteCount(bitCount: grid.bitCount))
    }
}

/// Where data set T lives and its size.
struct TallyShape: ParsableArguments {
    @Option var dir: String
    @Option var teams = 100
    @Option var criteria = 10
    @Option var evaluators = 100

    var scores: Int { teams * criteria * evaluators }
}

/// Data set T: a tally round's scores (teams × criteria × evaluators, grid 0–100 in steps of
/// 0.5) encrypted with their proofs on both cores, under a joint key from a three-holder
/// ceremony whose polynomial seeds are kept in the folder for the reveal's partial decryptions.
struct PrepareTally: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prepare-tally", abstract: "Make data set T (tally round).", shouldDisplay: false)
    @OptionGroup var shape: TallyShape

    static func config(teams: Int, criteria: Int) throws -> RoundConfig {
        var text = "id = \"T\"\ntitle = \"Tally bench\"\nteams = [\((0..<teams).map { "\"t\($0)\"" }.joined(separator: ", "))]\n"
        text += "[reveal]\nholders = [\"chair\", \"cm-1\", \"cm-2\"]\nthreshold = 2\n"
        for c in 0..<criteria { text += "[[criteria]]\nid = \"c\(c)\"\nweight = \(c + 1)\nmin = 0\nmax = 100\nstep = 0.5\n" }
        return try RoundFile.parse(text, file: "T.round")
    }

    static func ceremony(_ seeds: [SecureBytes]) -> (polynomials: [[P256.Scalar]], commitments: [[P256.Point]]) {
        let polynomials = seeds.map { Tally.Ceremony.polynomial(seed: $0, threshold: 2) }
        return (polynomials, polynomials.map { Tally.Ceremony.commit(polynomial: $0, context: []).coefficients })
    }

    func run() throws {
        let (dir, teams, criteria, evaluators) = (shape.dir, shape.teams, shape.criteria, shape.evaluators)
        let config = try Self.config(teams: teams, criteria: criteria)
        let seeds = (0..<3).map { _ in SecureBytes.random(count: 32) }
        try Data(seeds.flatMap { $0.unsafeArray() }).write(to: URL(fileURLWithPath: dir + "/seeds"))
        let key = Tally.PublicKey(Tally.Ceremony.jointKey(commitments: Self.ceremony(seeds).commitments))
        let grid = TallyCounting.grid(config.criteria[0])
        let size = Tally.EncryptedScore.byteCount(bitCount: grid.bitCount)
        let total = shape.scores
        // Record i: evaluator, team, criterion (u16 each) and the encoding; each thread writes its half.
        let record = 6 + size
        let fd = open(dir + "/scores.bin", O_CREAT | O_RDWR | O_TRUNC, 0o600)
        guard fd >= 0, ftruncate(fd, off_t(total * record)) == 0 else { throw ValidationError("cannot create \(dir)/scores.bin") }
        defer { close(fd) }
        var stream = ScoreStream(seed: 7)
        let units = (0..<total).map { _ in Int(stream.next() % 201) }
        let t = Date()
        DispatchQueue.concurrentPerform(iterations: 2) { half in
            var buffer = [UInt8]()
            for i in stride(from: half, to: total, by: 2) {
                let e = i % evaluators, c = (i / evaluators) % criteria, tm = i / (evaluators * criteria)
                let ctx = Tally.context(vault: "bench", round: "T", key: key.point, evaluator: "ev-\(e)", team: "t\(tm)", criterion: "c\(c)", grid: grid)
                buffer = [UInt8(e >> 8), UInt8(e & 255), UInt8(tm >> 8), UInt8(tm & 255), UInt8(c >> 8), UInt8(c & 255)]
                buffer += Tally.encrypt(index: units[i], grid: grid, key: key, context: ctx).encoded
                _ = buffer.withUnsafeBytes { pwrite(fd, $0.baseAddress, record, off_t(i * record)) }
            }
        }
        WorkerResult.report("seal2_per_s", Double(total) / Date().timeIntervalSince(t))
        WorkerResult.report("sum_units", units.reduce(0, +))
    }
}

/// The reveal of data set T, everything after the ceremony and sealing: every proof verified
/// from the stored bytes and the cells added on both cores, two holders' partial decryptions of
/// every cell with their proofs (made and verified), the totals, and the ranking.
struct TallyRevealOnce: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tally-reveal-once", abstract: "Time one reveal of data set T.", shouldDisplay: false)
    @OptionGroup var shape: TallyShape

    func run() throws {
        let t = Date()
        let (dir, teams, criteria) = (shape.dir, shape.teams, shape.criteria)
        let config = try PrepareTally.config(teams: teams, criteria: criteria)
        let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/seeds")))
        let seeds = (0..<3).map { SecureBytes(raw[($0 * 32)..<($0 * 32 + 32)]) }
        let (polynomials, commitments) = PrepareTally.ceremony(seeds)
        let key = Tally.PublicKey(Tally.Ceremony.jointKey(commitments: commitments))
        let record = 6 + Tally.EncryptedScore.byteCount(bitCount: 8)
        let total = shape.scores
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: dir + "/scores.bin"))
        let lock = NSLock()  // one reader of the file at a time
        let chunks = (total + Tally.verificationChunk - 1) / Tally.verificationChunk
        var counted = try TallyCounting.verifyAndSum(config: config, key: key, vault: "bench", chunks: chunks) { i in
            let first = i * Tally.verificationChunk, count = min(Tally.verificationChunk, total - first)
            lock.lock()
            try handle.seek(toOffset: UInt64(first * record))
            let data = try handle.read(upToCount: count * record) ?? Data()
            lock.unlock()
            let bytes = [UInt8](data)
            return (0..<count).map { j in
                let r = bytes[(j * record)..<((j + 1) * record)], b = r.startIndex
                return TallyCounting.Input(evaluator: "ev-\(Int(r[b]) << 8 | Int(r[b + 1]))", team: Int(r[b + 2]) << 8 | Int(r[b + 3]),
                                           criterion: Int(r[b + 4]) << 8 | Int(r[b + 5]), bytes: Array(r[(b + 6)...]))
            }
        }
        let verified = Date().timeIntervalSince(t)
        let cells = counted.cells
        // Holders 1 and 3 decrypt every cell; each partial's proof is checked before combining.
        let shares = [1, 3].map { i in (i, polynomials.reduce(P256.Scalar.zero) { $0 + Tally.Ceremony.share(polynomial: $1, for: i) },
                                        Tally.Ceremony.publicShare(index: i, commitments: commitments)) }
        let partials = cells.map { cell in
            let ctx = cell.context(vault: "bench", round: "T", manifestRoot: [0])
            return shares.map { i, s, pub in
                TallyRecord.Partial(holder: "h\(i)", index: i, decryption: Tally.PartialDecryption(x: cell.x, secretShare: s, publicShare: pub, context: ctx))
            }
        }
        for (c, list) in partials.enumerated() {
            for (p, (_, _, pub)) in zip(list, shares) where !p.decryption.verify(x: cells[c].x, publicShare: pub, context: cells[c].context(vault: "bench", round: "T", manifestRoot: [0])) {
                throw ValidationError("a partial decryption failed its proof")
            }
        }
        counted.cells = try TallyCounting.decrypt(cells, partials: partials, config: config)
        let result = try TallyCounting.result(config: config, counted: counted, request: DeclaredReveal(stat: .rank, by: ["team"], advance: 4))
        WorkerResult.report("verify_sum_s", verified)
        WorkerResult.report("reveal_s", Date().timeIntervalSince(t))
        WorkerResult.report("sum_units", counted.cells.reduce(0) { $0 + ($1.total ?? 0) })
        WorkerResult.report("groups", result.groups.count)
    }
}
