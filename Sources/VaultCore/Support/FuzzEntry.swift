import Foundation
import VaultCrypto

/// Entry points for the fuzz targets in `Fuzz/` (libFuzzer): each takes arbitrary bytes and must
/// either accept them or throw a VaultError — never crash, hang or allocate without bound. They
/// expose parsers that are otherwise internal; nothing else should call them.
@_spi(Fuzzing)
public enum FuzzEntry {
    /// The key-file reader up to the KDF (parsing, checksum, header and parameter checks).
    public static func keyFile(_ bytes: [UInt8]) throws {
        _ = try KeyFile.parse(bytes, path: "fuzz.key")
    }

    /// The audit-export reader of `audit verify`, line by line through the same bounded line
    /// reader as a file, including signature checks.
    public static func auditExport(_ bytes: [UInt8]) throws {
        var reader = LineReader(bytes: bytes)
        _ = try AuditVerifier.verify(lines: { try reader.next() }, olderCheckpoint: nil)
    }

    /// A round a fuzzed batch may be sealed to: its ids, private key, grid and evaluators (the
    /// fuzz target passes the rounds of the committed test vectors, Tests/Vectors/batch).
    public struct BatchRound: Sendable {
        public let vault: String, round: String
        public let privateKey: [UInt8]
        public let teams: Int
        public let stepCounts: [Int64]
        /// Evaluator id → Ed25519 public key.
        public let evaluators: [String: [UInt8]]

        public init(vault: String, round: String, privateKey: [UInt8], teams: Int, stepCounts: [Int64], evaluators: [String: [UInt8]]) {
            self.vault = vault; self.round = round; self.privateKey = privateKey; self.teams = teams
            self.stepCounts = stepCounts; self.evaluators = evaluators
        }
    }

    /// A whole batch file, read as `import` and a reveal read it. First the input itself as a
    /// decrypted payload through `RecordParser` (cut in two at a point its first byte picks), so
    /// the parser sees bytes no AEAD tag would let through. Then the file: `BatchFile.layout`
    /// from its first bytes, last 72 bytes and size, and, when it is for one of `rounds`, the
    /// payload key, every chunk opened with its STREAM nonce, the records checked against the
    /// grid with no place twice, the count, the digest and the evaluator's signature.
    public static func batchFile(_ bytes: [UInt8], rounds: [BatchRound]) throws {
        if let grid = rounds.first {
            var parser = RecordParser(teams: grid.teams, criteria: grid.stepCounts.count, stepCounts: grid.stepCounts)
            let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
            do {
                try bytes.withUnsafeBytes { b in
                    var records: [PlacedRecord] = []
                    for part in [b[..<cut], b[cut...]] { try parser.feed(UnsafeRawBufferPointer(rebasing: part), into: &records) }
                }
                _ = parser.isComplete
            } catch is RecordError {}
        }

        let file = "fuzz.batch"
        let (header, headerBytes, count, signature, chunks, payload) = try BatchFile.layout(
            head: Array(bytes.prefix(10 + BatchFormat.maxHeaderBody)),
            tail: bytes.count >= BatchFormat.trailerSize ? Array(bytes.suffix(BatchFormat.trailerSize)) : [], size: bytes.count, file: file)
        func bad(_ why: String) -> VaultError { .integrity("\(file): \(why)") }
        guard let r = rounds.first(where: { $0.vault == header.vault && $0.round == header.round }) else { throw bad("for a round this reader does not have") }
        guard let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: r.privateKey),
              header.roundKey == key.publicKey.rawRepresentation else { throw bad("sealed to another round key") }
        guard let raw = r.evaluators[header.evaluator], let signer = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            throw bad("sealed by an unknown evaluator")
        }
        guard let payloadKey = BatchFormat.payloadKey(privateKey: key, enc: header.enc, headerBytes: headerBytes, info: BatchFormat.info(vault: r.vault, round: r.round)),
              let cipher = try? AES.GCM.KeyedCipher(key: payloadKey) else { throw bad("its encapsulated key is invalid") }
        let digest = BatchFormat.Digest(header: headerBytes)
        var parser = RecordParser(teams: r.teams, criteria: r.stepCounts.count, stepCounts: r.stepCounts)
        var places = PairSet(rows: r.teams, columns: r.stepCounts.count)
        var plain = [UInt8](repeating: 0, count: BatchFormat.chunkSize)
        var offset = headerBytes.count
        do {
            for i in 0..<chunks {
                let last = i == chunks - 1
                let n = last ? payload - (chunks - 1) * BatchFormat.chunkCiphertextSize : BatchFormat.chunkCiphertextSize
                try bytes.withUnsafeBytes { b in
                    let ct = UnsafeRawBufferPointer(rebasing: b[offset..<(offset + n)])
                    digest.add(chunkHash: SHA256.hash(data: ct))
                    let opened = BatchFormat.nonce(i, last: last).withUnsafeBytes { nonce in
                        plain.withUnsafeMutableBytes {
                            cipher.open(ct, nonce: nonce, authenticating: UnsafeRawBufferPointer(start: nil, count: 0),
                                        into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<(n - AES.GCM.tagByteCount)]))
                        }
                    }
                    guard opened else { throw bad("chunk \(i) does not open") }
                    var records: [PlacedRecord] = []
                    try plain.withUnsafeBytes { p in try parser.feed(UnsafeRawBufferPointer(rebasing: p[0..<(n - AES.GCM.tagByteCount)]), into: &records) }
                    for r in records {
                        guard places.insert(Int(r.team), Int(r.criterion)) else { throw RecordError("a place is scored twice") }
                    }
                }
                offset += n
            }
        } catch let e as RecordError {
            throw bad(e.why)
        }
        secureWipe(&plain)
        guard parser.isComplete, parser.count == count else { throw bad("it should hold \(count) scores but holds \(parser.count)") }
        guard signer.isValidSignature(signature, for: digest.finalize(count: count)) else { throw bad("the evaluator's signature does not verify") }
    }

    /// The round a fuzzed tally batch is read against: two teams, a 201-value and a 10-value
    /// grid, a fixed joint key (7·G) and evaluator ev-1's fixed signing key.
    static let tallyRound: (config: RoundConfig, key: Tally.PublicKey, evaluator: Curve25519.Signing.PrivateKey) = {
        let text = """
            id = "R2"
            mode = "tally"
            teams = ["alpha", "beta"]
            [reveal]
            holders = ["chair"]
            threshold = 1
            [[criteria]]
            id = "quality"
            weight = 1
            min = 0
            max = 100
            step = 0.5
            [[criteria]]
            id = "safety"
            weight = 1
            min = 1
            max = 10
            step = 1
            """
        return (try! RoundFile.parse(text, file: "fuzz.round"), Tally.PublicKey(P256.Point.base(P256.Scalar(7))),
                try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 7, count: 32)))
    }()

    /// A tally batch file as `import` will read it: the strict reading, the evaluator's
    /// signature, then every record decoded and its proof verified while the cells are summed.
    public static func tallyBatch(_ bytes: [UInt8]) throws {
        let r = tallyRound
        let batch = try TallyBatch(bytes: bytes, config: r.config, file: "fuzz.batch")
        _ = batch.isSigned(by: r.evaluator.publicKey)
        _ = try TallyCounting.verifyAndSum(config: r.config, key: r.key, vault: batch.header.vault, inputs: batch.inputs)
    }

    /// A valid tally batch for the fuzz target's seed corpus.
    public static func tallyBatchSeed() throws -> [UInt8] {
        let r = tallyRound
        let header = TallyBatch.Header(vault: String(repeating: "ab", count: 16), round: "R2", jointKey: r.key.point.encoded(compressed: false),
                                       batchID: [UInt8](repeating: 1, count: 16), evaluator: "ev-1", time: 1_796_000_000_000_000)
        return try TallyBatch.make(header: header, config: r.config, key: r.key, scores: [(0, 0, 150), (0, 1, 4), (1, 0, 3)], signer: r.evaluator)
    }
}

