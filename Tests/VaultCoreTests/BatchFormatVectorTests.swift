import Foundation
import Testing
@_spi(KnownAnswerTests) import VaultCrypto
@testable import VaultCore

/// The batch file format, version 2 (docs/batch-format.md), against our own known-answer vectors
/// in Tests/Vectors/batch/: `small` (3 scores on a 2 × 2 round, one chunk) and `large` (5,000
/// scores, three chunks, a comment across each chunk boundary). Every input is in the JSON
/// files; the `.batch` files are what the writer must produce from them, byte for byte.
///
/// Two readers open them: `openWithVaultCode`, made of the pieces `import` and a reveal use
/// (`BatchFile`, `BatchFormat`, `RecordParser`), and `openFromDocument`, written from
/// docs/batch-format.md with none of VaultCore's batch code, only VaultCrypto's primitives. Both must read the
/// vectors exactly, and both must refuse every damaged or malformed variant below, so the page
/// and the code cannot drift apart.
///
/// Regenerate (only when the format changes on purpose, and say so in the commit):
///     EVALVAULT_WRITE_BATCH_VECTORS=1 swift test --filter BatchFormatVectorTests
/// then run the suite again without the variable.
@Suite("Batch file format v2: known-answer vectors")
struct BatchFormatVectorTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Vectors/batch")
    static let names = ["small", "large"]

    struct Failure: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }

    // MARK: The vector files

    /// One vector's JSON: every input, then the values a writer must reach.
    struct Vector: Codable {
        struct Criterion: Codable { let id: String; let min: String; let max: String; let step: String }
        struct Expected: Codable {
            let hpkeInfo: String
            let header: String
            let exporterSecret: String
            let payloadKeyContext: String
            let payloadKey: String
            let payloadBytes: Int
            let payloadSha256: String
            let chunks: Int
            let chunkSha256: [String]
            let count: Int
            let digest: String
            let signature: String
            let fileBytes: Int
            let fileSha256: String
        }
        let description: String
        let generatedBy: String
        let file: String
        let vault: String
        let round: String
        let teams: [String]
        let criteria: [Criterion]
        let roundPrivateKey: String
        let roundPublicKey: String
        let ephemeralPrivateKey: String
        let enc: String
        let evaluator: String
        let evaluatorSeed: String
        let evaluatorPublicKey: String
        let batchId: String
        let time: Int64
        /// [team, criterion, score, comment or null], in sealing order.
        let records: [[String?]]
        let expected: Expected
    }

    static func load(_ name: String) throws -> (Vector, [UInt8]) {
        let json = try Data(contentsOf: directory.appendingPathComponent("\(name).json"))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let v = try decoder.decode(Vector.self, from: json)
        let bytes = try [UInt8](Data(contentsOf: directory.appendingPathComponent(v.file)))
        return (v, bytes)
    }

    static func hex(_ s: String) throws -> [UInt8] {
        guard let b = Hex.decode(s) else { throw Failure("not lower-case hex: \(s.prefix(40))") }
        return b
    }

    /// The round as a reader knows it: ids, keys, and the grid.
    struct Round {
        let vault: String, id: String
        let teams: [String]
        let criteria: [VaultCore.Criterion]
        let privateKey: Curve25519.KeyAgreement.PrivateKey
        /// The evaluators a reader knows, by id.
        let evaluators: [String: Curve25519.Signing.PublicKey]
        var stepCounts: [Int64] { criteria.map(\.stepCount) }
    }

    static func round(of v: Vector) throws -> Round {
        let criteria = try v.criteria.map { c -> VaultCore.Criterion in
            guard let min = Fixed(c.min), let max = Fixed(c.max), let step = Fixed(c.step) else { throw Failure("criterion \(c.id): bad grid") }
            return VaultCore.Criterion(id: c.id, title: c.id, weight: Fixed(1), min: min, max: max, step: step)
        }
        let signer = try Curve25519.Signing.PrivateKey(rawRepresentation: hex(v.evaluatorSeed))
        return Round(vault: v.vault, id: v.round, teams: v.teams, criteria: criteria,
                     privateKey: try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: hex(v.roundPrivateKey)),
                     evaluators: [v.evaluator: signer.publicKey])
    }

    /// A record as indexes into the round: what the payload holds.
    struct Record: Equatable, CustomStringConvertible {
        let team: Int, criterion: Int, units: Int64, comment: [UInt8]
        var description: String { "(\(team), \(criterion), \(units), \(comment.count) comment bytes)" }
    }

    static func records(of v: Vector, in r: Round) throws -> [Record] {
        try v.records.map { f in
            guard f.count == 4, let team = f[0], let criterion = f[1], let score = f[2].flatMap({ Fixed($0) }),
                  let t = r.teams.firstIndex(of: team), let c = r.criteria.firstIndex(where: { $0.id == criterion }) else {
                throw Failure("malformed record \(f)")
            }
            return Record(team: t, criterion: c, units: try r.criteria[c].units(of: score), comment: Array((f[3] ?? "").utf8))
        }
    }

    // MARK: Writing

    struct Built {
        let file: [UInt8], header: [UInt8], chunks: [[UInt8]], digest: [UInt8], signature: [UInt8], count: Int
    }

    /// The vault's writer (`BatchWriter`), its HPKE ephemeral key fixed through the test hook.
    static func buildWithWriter(_ v: Vector, batchID: [UInt8]? = nil) throws -> Built {
        let r = try round(of: v)
        let ephemeral = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: hex(v.ephemeralPrivateKey))
        let sender = try HPKE.Sender(recipientKey: r.privateKey.publicKey, info: BatchFormat.info(vault: v.vault, round: v.round), ephemeralKey: ephemeral)
        final class Sink { var chunks: [[UInt8]] = [] }
        let sink = Sink()
        let writer = try BatchWriter(vault: v.vault, round: v.round, roundKey: r.privateKey.publicKey, batchID: batchID ?? hex(v.batchId),
                                     evaluator: v.evaluator, time: v.time, sender: sender) { i, ct in
            precondition(i == sink.chunks.count)
            sink.chunks.append(Array(ct))
        }
        for rec in try records(of: v, in: r) {
            try rec.comment.withUnsafeBytes { c in
                try writer.add(team: rec.team, criterion: rec.criterion, units: rec.units, comment: rec.comment.isEmpty ? nil : c)
            }
        }
        let f = try writer.finish(signer: Curve25519.Signing.PrivateKey(rawRepresentation: hex(v.evaluatorSeed)))
        #expect(f.chunks == sink.chunks.count)
        return Built(file: writer.headerBytes + sink.chunks.joined() + f.trailer, header: writer.headerBytes, chunks: sink.chunks,
                     digest: f.digest, signature: f.signature, count: writer.count)
    }

    /// The document's constants, spelt out here rather than taken from `BatchFormat`.
    enum Doc {
        static let magic: [UInt8] = Array("evbatch".utf8) + [0x02]
        static let chunk = 65_536, tag = 16, trailer = 72
        static func u16(_ n: Int) -> [UInt8] { [UInt8(n >> 8), UInt8(n & 0xff)] }
        static func u64(_ n: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * (7 - $0))) } }
        static func field(_ b: [UInt8]) -> [UInt8] { u16(b.count) + b }
        static func info(vault: String, round: String) -> [UInt8] {
            Array("evalvault/batch/v2".utf8) + [0] + field(Array(vault.utf8)) + field(Array(round.utf8))
        }
        static func payloadKeyContext(header: [UInt8]) -> [UInt8] { Array("evalvault/batch-payload/v2".utf8) + [0] + SHA256.hash(data: header) }
        static func nonce(_ i: Int, last: Bool) -> [UInt8] { [0, 0, 0] + u64(UInt64(i)) + [last ? 1 : 0] }
        static func digest(header: [UInt8], chunks: [[UInt8]], count: UInt64) -> [UInt8] {
            SHA256.hash(data: Array("evalvault/batch-digest/v2".utf8) + [0] + header + chunks.flatMap { SHA256.hash(data: $0) } + u64(count))
        }
        /// Record ‖ comment ‖ zero padding to a multiple of 16.
        static func encode(_ r: Record, padding: UInt8 = 0) -> [UInt8] {
            let t = UInt32(truncatingIfNeeded: r.team)
            var out: [UInt8] = [UInt8(t >> 24), UInt8(t >> 16 & 0xff), UInt8(t >> 8 & 0xff), UInt8(t & 0xff)]
            out += u16(r.criterion)
            out += u16(r.comment.count)
            out += u64(UInt64(bitPattern: r.units))
            out += r.comment
            out += [UInt8](repeating: padding, count: (16 - r.comment.count % 16) % 16)
            return out
        }
    }

    /// A writer written from the document: header, HPKE, export, chunks, digest, signature. Its
    /// knobs make well-signed batches that are wrong inside, which only a reader's own checks
    /// can refuse (the signature covers them).
    static func buildFromDocument(_ v: Vector, payload: [UInt8]? = nil, count: Int? = nil,
                                  cuts: [Int]? = nil, last: ((Int, Int) -> Bool)? = nil) throws -> Built {
        let r = try round(of: v)
        let recs = try records(of: v, in: r)
        let plain = payload ?? recs.flatMap { Doc.encode($0) }
        let n = count ?? recs.count
        let ephemeral = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: hex(v.ephemeralPrivateKey))
        let sender = try HPKE.Sender(recipientKey: r.privateKey.publicKey, info: Doc.info(vault: v.vault, round: v.round), ephemeralKey: ephemeral)
        let batchID = try hex(v.batchId)
        var body: [UInt8] = []
        for f in [Array(v.vault.utf8), Array(v.round.utf8), r.privateKey.publicKey.rawRepresentation, batchID, Array(v.evaluator.utf8),
                  Doc.u64(UInt64(bitPattern: v.time)), sender.encapsulatedKey] { body += Doc.field(f) }
        let header = Doc.magic + Doc.u16(body.count) + body
        let key = try sender.exportSecret(context: Doc.payloadKeyContext(header: header), outputByteCount: 32)
        let cipher = try AES.GCM.KeyedCipher(key: SymmetricKey(key))
        // Chunk boundaries: every 64 KiB, unless told otherwise.
        let bounds = cuts ?? Array(stride(from: Doc.chunk, to: plain.count, by: Doc.chunk))
        let edges = [0] + bounds + [plain.count]
        var chunks: [[UInt8]] = []
        for i in 0..<(edges.count - 1) {
            let p = Array(plain[edges[i]..<edges[i + 1]])
            var ct = [UInt8](repeating: 0, count: p.count + Doc.tag)
            let flag = last?(i, edges.count - 1) ?? (i == edges.count - 2)
            try p.withUnsafeBytes { p in
                try Doc.nonce(i, last: flag).withUnsafeBytes { nonce in
                    try ct.withUnsafeMutableBytes { try cipher.seal(p, nonce: nonce, authenticating: UnsafeRawBufferPointer(start: nil, count: 0), into: $0) }
                }
            }
            chunks.append(ct)
        }
        let digest = Doc.digest(header: header, chunks: chunks, count: UInt64(n))
        let signature = try Curve25519.Signing.PrivateKey(rawRepresentation: hex(v.evaluatorSeed)).signature(for: digest)
        return Built(file: header + chunks.joined() + Doc.u64(UInt64(n)) + signature, header: header, chunks: chunks, digest: digest,
                     signature: signature, count: n)
    }

    // MARK: Reading

    struct Opened {
        let records: [Record]
        let digest: [UInt8]
    }

    /// The vault's own reading code, in the order `import` and a reveal apply it: `BatchFile`
    /// (header, trailer, layout from the size), the header's ids against the round, HPKE to the
    /// payload key, each chunk opened with its STREAM nonce, `RecordParser`, no place twice, the
    /// count, the digest and the signature. Throws a VaultError, as the commands do.
    static func openWithVaultCode(_ bytes: [UInt8], round r: Round) throws -> Opened {
        let path = NSTemporaryDirectory() + "evalvault-batch-vector-\(UUID().uuidString).batch"
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { throw Failure("cannot write \(path)") }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try BatchFile(path: path)
        let h = file.header
        func bad(_ why: String) -> VaultError { .integrity("batch: \(why)") }
        guard h.vault == r.vault, h.round == r.id, h.roundKey == r.privateKey.publicKey.rawRepresentation else { throw bad("another vault, round or key") }
        guard let signer = r.evaluators[h.evaluator] else { throw bad("unknown evaluator") }
        guard let recipient = try? HPKE.Recipient(privateKey: r.privateKey, encapsulatedKey: h.enc, info: BatchFormat.info(vault: r.vault, round: r.id)),
              let key = try? recipient.exportSecret(context: BatchFormat.payloadKeyContext(header: file.headerBytes), outputByteCount: 32) else {
            throw bad("invalid encapsulated key")
        }
        let cipher = try AES.GCM.KeyedCipher(key: SymmetricKey(key))
        let digest = BatchFormat.Digest(header: file.headerBytes)
        var parser = RecordParser(teams: r.teams.count, criteria: r.criteria.count, stepCounts: r.stepCounts)
        var places = Set<Int>()
        var out: [Record] = []
        var seen = 0
        do {
            try file.forEachChunk { i, ct in
                guard i == seen else { throw bad("chunk out of order") }
                seen += 1
                let last = i == file.chunks - 1
                guard last || ct.count == BatchFormat.chunkCiphertextSize, ct.count > AES.GCM.tagByteCount, ct.count <= BatchFormat.chunkCiphertextSize else {
                    throw bad("chunk \(i) has the wrong size")
                }
                digest.add(chunkHash: SHA256.hash(data: ct))
                var plain = [UInt8](repeating: 0, count: ct.count - AES.GCM.tagByteCount)
                let ok = BatchFormat.nonce(i, last: last).withUnsafeBytes { n in
                    plain.withUnsafeMutableBytes { cipher.open(ct, nonce: n, authenticating: UnsafeRawBufferPointer(start: nil, count: 0), into: $0) }
                }
                guard ok else { throw bad("chunk \(i) does not open") }
                var records: [PlacedRecord] = []
                try plain.withUnsafeBytes { p in try parser.feed(p, into: &records) }
                for rec in records {
                    let t = Int(rec.team), c = Int(rec.criterion)
                    guard places.insert(t * r.criteria.count + c).inserted else { throw RecordError("a place twice") }
                    out.append(Record(team: t, criterion: c, units: rec.units, comment: []))
                }
            }
        } catch let e as RecordError {
            throw bad(e.why)
        }
        guard seen == file.chunks else { throw bad("chunks missing") }
        guard parser.isComplete, parser.count == file.count else { throw bad("holds \(parser.count) records, says \(file.count)") }
        let d = digest.finalize(count: file.count)
        guard signer.isValidSignature(file.signature, for: d) else { throw bad("the signature does not verify") }
        return Opened(records: out, digest: d)
    }

    /// A reader written from docs/batch-format.md alone, step by step ("Reading a batch").
    static func openFromDocument(_ b: [UInt8], round r: Round) throws -> Opened {
        func u(_ s: ArraySlice<UInt8>) -> UInt64 { s.reduce(0) { $0 << 8 | UInt64($1) } }
        // 1. Header.
        guard b.count >= 10, Array(b[0..<8]) == Doc.magic else { throw Failure("not a version 2 batch") }
        let n = Int(u(b[8..<10]))
        guard n <= 1024, b.count >= 10 + n else { throw Failure("header length") }
        let header = Array(b[0..<(10 + n)])
        var at = 10
        func field(_ size: Int? = nil) throws -> [UInt8] {
            guard at + 2 <= 10 + n else { throw Failure("header field missing") }
            let len = Int(u(b[at..<(at + 2)]))
            guard at + 2 + len <= 10 + n, size == nil || size == len else { throw Failure("header field length") }
            defer { at += 2 + len }
            return Array(b[(at + 2)..<(at + 2 + len)])
        }
        func id() throws -> String {
            let f = try field()
            guard (1...128).contains(f.count), f.allSatisfy({ (0x21...0x7e).contains($0) }) else { throw Failure("malformed id") }
            return String(decoding: f, as: UTF8.self)
        }
        let vault = try id(), roundID = try id(), roundKey = try field(32), _ = try field(16), evaluator = try id()
        _ = try field(8)
        let enc = try field(32)
        guard at == 10 + n else { throw Failure("bytes after the header's last field") }
        guard vault == r.vault, roundID == r.id, roundKey == r.privateKey.publicKey.rawRepresentation else { throw Failure("another vault, round or key") }
        guard let signer = r.evaluators[evaluator] else { throw Failure("unknown evaluator") }
        // 2. Trailer and chunk layout, from the size.
        guard b.count >= 10 + n + Doc.trailer else { throw Failure("too short") }
        let count = u(b[(b.count - 72)..<(b.count - 64)])
        let signature = Array(b[(b.count - 64)...])
        guard count >= 1, count <= 100_000_000 else { throw Failure("count out of range") }
        let payload = Array(b[(10 + n)..<(b.count - 72)])
        let full = Doc.chunk + Doc.tag
        guard payload.count > Doc.tag else { throw Failure("no payload") }
        let chunkCount = (payload.count + full - 1) / full
        guard payload.count - (chunkCount - 1) * full > Doc.tag else { throw Failure("last chunk too short") }
        // 3. Payload key.
        let recipient = try HPKE.Recipient(privateKey: r.privateKey, encapsulatedKey: enc, info: Doc.info(vault: vault, round: roundID))
        let key = try recipient.exportSecret(context: Doc.payloadKeyContext(header: header), outputByteCount: 32)
        let cipher = try AES.GCM.KeyedCipher(key: SymmetricKey(key))
        // 4. Chunks, in order, the last one flagged.
        var chunks: [[UInt8]] = [], plain: [UInt8] = []
        for i in 0..<chunkCount {
            let ct = Array(payload[(i * full)..<min(payload.count, (i + 1) * full)])
            var p = [UInt8](repeating: 0, count: ct.count - Doc.tag)
            let ok = Doc.nonce(i, last: i == chunkCount - 1).withUnsafeBytes { nonce in
                ct.withUnsafeBytes { c in p.withUnsafeMutableBytes { cipher.open(c, nonce: nonce, authenticating: UnsafeRawBufferPointer(start: nil, count: 0), into: $0) } }
            }
            guard ok else { throw Failure("chunk \(i) does not open") }
            chunks.append(ct)
            plain += p
        }
        // 5. Records.
        var out: [Record] = [], places = Set<[Int]>(), k = 0
        while k < plain.count {
            guard k + 16 <= plain.count else { throw Failure("a record cut short") }
            let t = Int(u(plain[k..<(k + 4)])), c = Int(u(plain[(k + 4)..<(k + 6)])), m = Int(u(plain[(k + 6)..<(k + 8)]))
            let units = u(plain[(k + 8)..<(k + 16)])
            guard t < r.teams.count, c < r.criteria.count, m <= 1000 else { throw Failure("record out of the round") }
            guard units <= UInt64(r.criteria[c].stepCount) else { throw Failure("off the grid") }
            guard places.insert([t, c]).inserted else { throw Failure("a place twice") }
            let padded = (m + 15) / 16 * 16
            guard k + 16 + padded <= plain.count else { throw Failure("a comment cut short") }
            guard plain[(k + 16 + m)..<(k + 16 + padded)].allSatisfy({ $0 == 0 }) else { throw Failure("non-zero padding") }
            out.append(Record(team: t, criterion: c, units: Int64(units), comment: Array(plain[(k + 16)..<(k + 16 + m)])))
            k += 16 + padded
        }
        guard UInt64(out.count) == count else { throw Failure("count differs from the records") }
        // 6. Digest and signature.
        let digest = Doc.digest(header: header, chunks: chunks, count: count)
        guard signer.isValidSignature(signature, for: digest) else { throw Failure("signature") }
        return Opened(records: out, digest: digest)
    }

    // MARK: (a) building reproduces the committed bytes

    @Test("both writers rebuild each committed .batch byte for byte from its JSON inputs", arguments: names)
    func rebuild(_ name: String) throws {
        let (v, file) = try Self.load(name)
        let e = v.expected
        let r = try Self.round(of: v)
        let ephemeral = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: Self.hex(v.ephemeralPrivateKey))
        #expect(Hex.encode(r.privateKey.publicKey.rawRepresentation) == v.roundPublicKey)
        #expect(Hex.encode(ephemeral.publicKey.rawRepresentation) == v.enc)
        #expect(Hex.encode(r.evaluators[v.evaluator]!.rawRepresentation) == v.evaluatorPublicKey)
        #expect(Hex.encode(BatchFormat.info(vault: v.vault, round: v.round)) == e.hpkeInfo)
        #expect(Hex.encode(Doc.info(vault: v.vault, round: v.round)) == e.hpkeInfo)

        let built = try Self.buildWithWriter(v)
        #expect(built.file == file, "BatchWriter's bytes differ from \(v.file)")
        #expect(Hex.encode(built.header) == e.header)
        #expect(Hex.encode(built.digest) == e.digest)
        #expect(Hex.encode(built.signature) == e.signature)
        #expect(built.chunks.count == e.chunks && built.chunks.map { Hex.encode(SHA256.hash(data: $0)) } == e.chunkSha256)
        #expect(built.count == e.count && v.records.count == e.count)
        #expect(file.count == e.fileBytes && Hex.encode(SHA256.hash(data: file)) == e.fileSha256)

        let doc = try Self.buildFromDocument(v)
        #expect(doc.file == file, "the document's writer differs from \(v.file)")
        // The intermediate values the JSON gives for other implementations.
        let sender = try HPKE.Sender(recipientKey: r.privateKey.publicKey, info: Doc.info(vault: v.vault, round: v.round), ephemeralKey: ephemeral)
        #expect(Hex.encode(sender.exporterSecretForTests.unsafeArray()) == e.exporterSecret)
        #expect(Hex.encode(Doc.payloadKeyContext(header: built.header)) == e.payloadKeyContext)
        let payloadKey = try sender.exportSecret(context: Doc.payloadKeyContext(header: built.header), outputByteCount: 32)
        #expect(Hex.encode(payloadKey.unsafeArray()) == e.payloadKey)
        let payload = try Self.records(of: v, in: r).flatMap { Doc.encode($0) }
        #expect(payload.count == e.payloadBytes && Hex.encode(SHA256.hash(data: payload)) == e.payloadSha256)
    }

    @Test("the committed JSON is what the generator in this file writes (regeneration is reproducible)")
    func generatorMatches() throws {
        if ProcessInfo.processInfo.environment["EVALVAULT_WRITE_BATCH_VECTORS"] == "1" {
            try Self.writeVectors()  // then run the suite again without it
            return
        }
        for name in Self.names {
            let (inputs, _) = try Self.generate(name)
            let text = try String(contentsOf: Self.directory.appendingPathComponent("\(name).json"), encoding: .utf8)
            #expect(inputs == text, "\(name).json differs from what the generator writes")
        }
    }

    // MARK: (b) reading

    @Test("both readers open each committed file to exactly its records, digest and a valid signature", arguments: names)
    func read(_ name: String) throws {
        let (v, file) = try Self.load(name)
        let r = try Self.round(of: v)
        let want = try Self.records(of: v, in: r)
        let vault = try Self.openWithVaultCode(file, round: r)
        #expect(vault.records == want.map { Record(team: $0.team, criterion: $0.criterion, units: $0.units, comment: []) })
        #expect(Hex.encode(vault.digest) == v.expected.digest)
        let doc = try Self.openFromDocument(file, round: r)
        #expect(doc.records == want)
        #expect(Hex.encode(doc.digest) == v.expected.digest)
        let signature = try Self.hex(v.expected.signature)
        #expect(Array(file.suffix(64)) == signature)
    }

    @Test("the large vector exercises chunk boundaries: three chunks, the last one partial, a comment across every boundary")
    func largeCoversBoundaries() throws {
        let (v, file) = try Self.load("large")
        let r = try Self.round(of: v)
        let recs = try Self.records(of: v, in: r)
        #expect(v.expected.chunks == 3)
        #expect(v.expected.payloadBytes % BatchFormat.chunkSize != 0)
        #expect(recs.contains { $0.comment.count == BatchFormat.maxCommentBytes })
        #expect(recs.contains { $0.comment.contains { $0 >= 0x80 } })
        var offset = 0
        var crossing = Set<Int>()
        for rec in recs {
            let start = offset + 16, end = start + rec.comment.count
            for k in 1..<v.expected.chunks where start < k * BatchFormat.chunkSize && k * BatchFormat.chunkSize < end { crossing.insert(k) }
            offset += Doc.encode(rec).count
        }
        #expect(crossing == [1, 2])
        #expect(file.count == 10 + Int(file[8]) << 8 + Int(file[9]) + v.expected.payloadBytes + 16 * v.expected.chunks + 72)
    }

    // MARK: (c) damaged files

    /// The byte ranges of a committed file, for flipping.
    static func regions(_ file: [UInt8], chunks: Int) -> [(String, Int)] {
        let n = Int(file[8]) << 8 | Int(file[9])
        var out: [(String, Int)] = [("magic", 0), ("magic, last letter", 6), ("version", 7), ("header length", 8), ("header length, low byte", 9)]
        var at = 10
        for name in ["vault id", "round id", "round key", "batch id", "evaluator id", "time", "encapsulated key"] {
            let len = Int(file[at]) << 8 | Int(file[at + 1])
            out += [("\(name) length", at + 1), ("\(name), first byte", at + 2), ("\(name), last byte", at + 1 + len)]
            at += 2 + len
        }
        precondition(at == 10 + n)
        let full = BatchFormat.chunkCiphertextSize
        let end = file.count - 72
        for i in 0..<chunks {
            let s = at + i * full, e = min(end, s + full)
            out += [("chunk \(i), first byte", s), ("chunk \(i), middle", (s + e) / 2), ("chunk \(i), tag", e - 1)]
        }
        for k in 0..<8 { out.append(("trailer count, byte \(k)", end + k)) }
        out += [("signature, first byte", end + 8), ("signature, last byte", file.count - 1)]
        return out
    }

    static func chunkRanges(_ file: [UInt8], chunks: Int) -> [Range<Int>] {
        let start = 10 + (Int(file[8]) << 8 | Int(file[9])), end = file.count - 72
        return (0..<chunks).map { (start + $0 * BatchFormat.chunkCiphertextSize)..<min(end, start + ($0 + 1) * BatchFormat.chunkCiphertextSize) }
    }

    static func expectRefused(_ bytes: [UInt8], _ what: String, round r: Round, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(throws: VaultError.self, "the vault's reader accepted: \(what)", sourceLocation: sourceLocation) { _ = try openWithVaultCode(bytes, round: r) }
        #expect(throws: (any Error).self, "the document's reader accepted: \(what)", sourceLocation: sourceLocation) { _ = try openFromDocument(bytes, round: r) }
    }

    @Test("one flipped bit in any region — each header field, each chunk, the count, the signature — is refused", arguments: names)
    func flips(_ name: String) throws {
        let (v, file) = try Self.load(name)
        let r = try Self.round(of: v)
        for (what, at) in Self.regions(file, chunks: v.expected.chunks) {
            for bit: UInt8 in [0x01, 0x80] {
                var m = file
                m[at] ^= bit
                Self.expectRefused(m, "\(name): \(what) (offset \(at)) xor \(bit)", round: r)
            }
        }
    }

    @Test("cut, padded, reordered, dropped, duplicated and moved chunks are refused")
    func structure() throws {
        let (sv, small) = try Self.load("small")
        let (lv, large) = try Self.load("large")
        let sr = try Self.round(of: sv), lr = try Self.round(of: lv)
        let sc = Self.chunkRanges(small, chunks: sv.expected.chunks), lc = Self.chunkRanges(large, chunks: lv.expected.chunks)
        #expect(sc.count == 1 && lc.count == 3)
        let lHead = Array(large[..<lc[0].lowerBound]), lTrail = Array(large.suffix(72))
        let sHead = Array(small[..<sc[0].lowerBound]), sTrail = Array(small.suffix(72))
        let l = lc.map { Array(large[$0]) }, s = sc.map { Array(small[$0]) }
        // The pieces put back together are the file: the cases below differ from it only as named.
        #expect(lHead + l.joined() + lTrail == large && sHead + s.joined() + sTrail == small)

        var cases: [(String, [UInt8], Round)] = [
            ("small: cut by 1 byte", Array(small.dropLast()), sr),
            ("large: cut by 1 byte", Array(large.dropLast()), lr),
            ("small: one byte appended", small + [0], sr),
            ("large: one byte appended", large + [0], lr),
            ("large: one byte inserted before the trailer", lHead + l.joined() + [0] + lTrail, lr),
            ("small: cut by its one chunk's length", Array(small.dropLast(s[0].count)), sr),
            ("large: cut by one chunk (64 KiB + 16)", Array(large.dropLast(BatchFormat.chunkCiphertextSize)), lr),
            ("large: the final chunk dropped, trailer kept", lHead + l[0] + l[1] + lTrail, lr),
            ("large: the first chunk dropped", lHead + l[1] + l[2] + lTrail, lr),
            ("large: the middle chunk dropped", lHead + l[0] + l[2] + lTrail, lr),
            ("large: chunks 0 and 1 swapped", lHead + l[1] + l[0] + l[2] + lTrail, lr),
            ("large: chunk 0 twice", lHead + l[0] + l[0] + l[1] + l[2] + lTrail, lr),
            ("large: the final chunk replaced by the small vector's (final) chunk", lHead + l[0] + l[1] + s[0] + lTrail, lr),
            ("small: its chunk replaced by the large vector's final chunk", sHead + l[2] + sTrail, sr),
            ("small: its chunk replaced by the large vector's chunk 0", sHead + l[0] + sTrail, sr),
            ("small: the large vector's chunks appended to its own", sHead + s[0] + l.joined() + sTrail, sr),
            ("small: the trailer missing", sHead + s[0], sr),
            ("small: the header alone", sHead, sr),
            ("small: empty", [], sr),
            ("small: the large vector's header on the small vector's chunk", lHead + s[0] + sTrail, lr),
            ("large: a header with one byte more after its last field",
             Array(large[0..<8]) + Doc.u16(lHead.count - 10 + 1) + Array(lHead[10...]) + [0] + l.joined() + lTrail, lr),
            ("small: enc set to the all-zero (low-order) X25519 point",
             Array(sHead.dropLast(32)) + [UInt8](repeating: 0, count: 32) + s[0] + sTrail, sr),
        ]
        // The same batch sealed again under another batch id, with the same ephemeral key: the
        // HPKE context is identical, so only the header's hash in the exporter context tells the
        // payload keys apart — a chunk moved between the two must still not open.
        var twinID = try Self.hex(lv.batchId)
        twinID[15] ^= 1
        let twin = try Self.buildWithWriter(lv, batchID: twinID)
        #expect(try Self.openWithVaultCode(twin.file, round: lr).records.count == lv.expected.count)
        for i in 0..<3 {
            var chunks = l
            chunks[i] = twin.chunks[i]
            cases.append(("large: chunk \(i) taken from the same batch sealed under another id", lHead + chunks.joined() + lTrail, lr))
        }
        cases.append(("large: the twin's header with the vector's chunks and trailer", twin.header + l.joined() + lTrail, lr))
        cases.append(("large: the vector's header and chunks with the twin's trailer", lHead + l.joined() + Array(twin.file.suffix(72)), lr))
        for (what, bytes, round) in cases { Self.expectRefused(bytes, what, round: round) }

        // A reader of another vault, round or round key, or one that does not know the evaluator.
        let other = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: [UInt8](repeating: 7, count: 32))
        let stranger = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 9, count: 32)).publicKey
        for (what, round) in [("another vault", Round(vault: "0" + sr.vault.dropFirst(), id: sr.id, teams: sr.teams, criteria: sr.criteria, privateKey: sr.privateKey, evaluators: sr.evaluators)),
                              ("another round", Round(vault: sr.vault, id: sr.id + "x", teams: sr.teams, criteria: sr.criteria, privateKey: sr.privateKey, evaluators: sr.evaluators)),
                              ("another round key", Round(vault: sr.vault, id: sr.id, teams: sr.teams, criteria: sr.criteria, privateKey: other, evaluators: sr.evaluators)),
                              ("an unknown evaluator", Round(vault: sr.vault, id: sr.id, teams: sr.teams, criteria: sr.criteria, privateKey: sr.privateKey, evaluators: [:])),
                              ("the evaluator's key replaced", Round(vault: sr.vault, id: sr.id, teams: sr.teams, criteria: sr.criteria, privateKey: sr.privateKey,
                                                                     evaluators: [sv.evaluator: stranger]))] {
            Self.expectRefused(small, "small, read as \(what)", round: round)
        }
    }

    // MARK: (d) well-signed but wrong inside

    @Test("batches signed by the evaluator but malformed inside are refused by the readers' own checks")
    func signedButMalformed() throws {
        let (sv, small) = try Self.load("small")
        let (lv, _) = try Self.load("large")
        let sr = try Self.round(of: sv), lr = try Self.round(of: lv)
        let recs = try Self.records(of: sv, in: sr)
        let good = recs.flatMap { Doc.encode($0) }
        // The document's writer with no knob set is the committed file: the knobs alone differ.
        #expect(try Self.buildFromDocument(sv).file == small)
        func with(_ i: Int, team: Int? = nil, criterion: Int? = nil, units: Int64? = nil, comment: [UInt8]? = nil) -> [UInt8] {
            var rs = recs
            let o = rs[i]
            rs[i] = Record(team: team ?? o.team, criterion: criterion ?? o.criterion, units: units ?? o.units, comment: comment ?? o.comment)
            return rs.flatMap { Doc.encode($0) }
        }
        let steps = sr.criteria[recs[0].criterion].stepCount
        let cases: [(String, Built)] = [
            ("a team index past the round's teams", try Self.buildFromDocument(sv, payload: with(0, team: sr.teams.count))),
            ("a criterion index past the round's criteria", try Self.buildFromDocument(sv, payload: with(0, criterion: sr.criteria.count))),
            ("grid units one past the criterion's maximum", try Self.buildFromDocument(sv, payload: with(0, units: steps + 1))),
            ("negative grid units", try Self.buildFromDocument(sv, payload: with(0, units: -1))),
            ("one place scored twice", try Self.buildFromDocument(sv, payload: with(1, team: recs[0].team, criterion: recs[0].criterion))),
            ("a comment of 1,001 bytes", try Self.buildFromDocument(sv, payload: with(0, comment: [UInt8](repeating: 0x61, count: 1001)))),
            ("non-zero comment padding", try Self.buildFromDocument(sv, payload: recs.flatMap { Doc.encode($0, padding: 0x20) })),
            ("a count one above the records", try Self.buildFromDocument(sv, count: recs.count + 1)),
            ("a count one below the records", try Self.buildFromDocument(sv, count: recs.count - 1)),
            ("a stray half record at the end", try Self.buildFromDocument(sv, payload: good + [UInt8](repeating: 0, count: 8))),
            ("a stray whole zero record at the end (count unchanged)", try Self.buildFromDocument(sv, payload: good + [UInt8](repeating: 0, count: 16))),
            ("the last chunk not flagged final", try Self.buildFromDocument(sv, last: { _, _ in false })),
        ]
        for (what, b) in cases { Self.expectRefused(b.file, "small, signed: \(what)", round: sr) }

        let large: [(String, Built)] = [
            ("every chunk flagged final", try Self.buildFromDocument(lv, last: { _, _ in true })),
            ("the first chunk flagged final too", try Self.buildFromDocument(lv, last: { i, n in i == 0 || i == n - 1 })),
            ("no chunk flagged final", try Self.buildFromDocument(lv, last: { _, _ in false })),
            // Cut short of 64 KiB: in a file, chunk boundaries come from the size alone, so a
            // short first chunk shifts every boundary after it and nothing opens.
            ("a first chunk of 64 KiB − 16", try Self.buildFromDocument(lv, cuts: [BatchFormat.chunkSize - 16, 2 * BatchFormat.chunkSize])),
        ]
        for (what, b) in large { Self.expectRefused(b.file, "large, signed: \(what)", round: lr) }
        // The knobs at rest give the committed large file back, so the cases above are real batches.
        let committedLarge = try Self.load("large").1
        #expect(try Self.buildFromDocument(lv).file == committedLarge)
    }

    // MARK: Generating the vectors

    /// The vectors' inputs. Keys are SHA-256 of ASCII labels, so anyone can derive them again;
    /// any 32 bytes would do.
    static func key(_ label: String) -> [UInt8] { SHA256.hash(data: Array("evalvault batch vector: \(label)".utf8)) }

    struct Inputs {
        let name: String, description: String
        let vault: String, round: String
        let teams: [String]
        let criteria: [Vector.Criterion]
        let roundKeyLabel: String, ephemeralLabel: String
        let evaluator: String
        let batchID: [UInt8]
        let time: Int64
        let records: [[String?]]
    }

    static let vaultID = "5ca1ab1e0ddba11c0ffeeb0a710ad5ed"

    static func inputs(_ name: String) -> Inputs {
        if name == "small" {
            return Inputs(name: name, description: "3 scores on a 2-team × 2-criterion round, one with a comment; one chunk",
                          vault: vaultID, round: "finals-2026", teams: ["upstage", "naver-cloud"],
                          criteria: [.init(id: "performance", min: "0", max: "100", step: "0.5"), .init(id: "novelty", min: "-2", max: "2", step: "0.25")],
                          roundKeyLabel: "round finals-2026", ephemeralLabel: "ephemeral small", evaluator: "ev-1",
                          batchID: Array(0..<16).map { UInt8($0 * 0x11) }, time: 1_796_000_000_123_456,
                          records: [["naver-cloud", "performance", "81.5", nil],
                                    ["upstage", "novelty", "-0.75", "Clear ablations; the baseline is weak."],
                                    ["upstage", "performance", "100", nil]])
        }
        // 100 teams × 50 criteria, every place once, in a shuffled order; a third of the scores
        // carry a comment; one comment has the maximum 1,000 bytes, some are not ASCII.
        let teams = (0..<100).map { "team-" + String(String(1000 + $0).dropFirst()) }
        let mins = ["0", "-5", "1"], maxes = ["10", "20", "5", "100", "7"], steps = ["1", "0.5", "0.25", "0.1"]
        let criteria = (0..<50).map { i in Vector.Criterion(id: "c-" + String(String(100 + i).dropFirst()), min: mins[i % 3], max: maxes[i % 5], step: steps[i % 4]) }
        let words = ["solid", "demo", "latency", "unclear", "novel", "robust", "baseline", "ablation", "scales", "well", "documented", "fragile"]
        var places: [(key: [UInt8], t: Int, c: Int)] = []
        for t in 0..<100 { for c in 0..<50 { places.append((SHA256.hash(data: Array("large/\(t)/\(c)".utf8)), t, c)) } }
        places.sort { $0.key.lexicographicallyPrecedes($1.key) }
        var records: [[String?]] = []
        for (k, p) in places.enumerated() {
            let h = p.key
            let cr = criteria[p.c]
            let min = Fixed(cr.min)!, step = Fixed(cr.step)!
            let stepCount = (Fixed(cr.max)!.micros - min.micros) / step.micros
            var units = Int64(h[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } % UInt64(stepCount + 1))
            if k % 97 == 0 { units = 0 } else if k % 89 == 0 { units = stepCount }
            var comment: String?
            if k == 77 {
                comment = "Très bien — 훌륭한 발표 ✓"
            } else if k == 555 {
                comment = "Said \"ok\", then:\nsecond line \\ done"
            } else if h[8] % 3 == 0 {
                let length = 1 + Int(h[9]) % 60
                var s = ""
                var w = Int(h[10])
                while s.utf8.count < length { s += (s.isEmpty ? "" : " ") + words[w % words.count]; w += Int(h[11]) | 1 }
                comment = String(s.utf8.prefix(length))!
            }
            records.append([teams[p.t], cr.id, Fixed(micros: min.micros + units * step.micros).description, comment])
        }
        // Then a comment across each chunk boundary: the first record whose comment of `length`
        // bytes would hold the boundary's byte gets one (1,000 bytes at 64 KiB, 300 at 128 KiB).
        for (boundary, length) in [(BatchFormat.chunkSize, BatchFormat.maxCommentBytes), (2 * BatchFormat.chunkSize, 300)] {
            var offset = 0
            for k in records.indices {
                let start = offset + 16
                if start < boundary && boundary < start + length {
                    var s = "Long note \(length): "
                    while s.utf8.count < length { s += words[s.utf8.count % words.count] + " " }
                    records[k][3] = String(s.utf8.prefix(length))!
                    break
                }
                let c = records[k][3]?.utf8.count ?? 0
                offset += 16 + (c + 15) / 16 * 16
            }
        }
        return Inputs(name: name, description: "5,000 scores on a 100-team × 50-criterion round, a third with comments; three chunks",
                      vault: vaultID, round: "semis-2026", teams: teams, criteria: criteria,
                      roundKeyLabel: "round semis-2026", ephemeralLabel: "ephemeral large", evaluator: "ev-1",
                      batchID: SHA256.hash(data: Array("large batch id".utf8)).prefix(16).map { $0 }, time: 1_796_000_060_654_321, records: records)
    }

    /// A JSON string: `"` and `\\` escaped, control characters as \n, \t or \u00xx, the rest as is.
    static func jsonString(_ s: String) -> String {
        var o = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": o += "\\\""
            case "\\": o += "\\\\"
            case "\n": o += "\\n"
            case "\t": o += "\\t"
            case _ where u.value < 0x20: o += String(format: "\\u%04x", u.value)
            default: o.unicodeScalars.append(u)
            }
        }
        return o + "\""
    }

    /// A vector's JSON text and its `.batch` bytes, from `inputs(name)`.
    static func generate(_ name: String) throws -> (String, [UInt8]) {
        let i = inputs(name)
        let roundKey = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: key(i.roundKeyLabel))
        let ephemeral = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: key(i.ephemeralLabel))
        let signer = try Curve25519.Signing.PrivateKey(rawRepresentation: key("evaluator \(i.evaluator)"))
        // First the inputs alone, then the same vector with the values computed from them.
        func text(_ e: Vector.Expected?) throws -> String {
            var o = "{\n"
            func line(_ k: String, _ v: String, last: Bool = false) { o += "  \"\(k)\": \(v)\(last ? "" : ",")\n" }
            line("description", jsonString(i.description))
            line("generated_by", jsonString("EvalVault, Tests/VaultCoreTests/BatchFormatVectorTests.swift (EVALVAULT_WRITE_BATCH_VECTORS=1); keys are SHA-256 of \"evalvault batch vector: \" + a label"))
            line("file", jsonString("\(name).batch"))
            line("vault", jsonString(i.vault))
            line("round", jsonString(i.round))
            line("teams", "[" + i.teams.map(jsonString).joined(separator: ", ") + "]")
            o += "  \"criteria\": [\n" + (i.criteria.map {
                "    {\"id\": \(jsonString($0.id)), \"min\": \(jsonString($0.min)), \"max\": \(jsonString($0.max)), \"step\": \(jsonString($0.step))}"
            }).joined(separator: ",\n") + "\n  ],\n"
            line("round_private_key", "\"\(Hex.encode(roundKey.rawRepresentation.unsafeArray()))\"")
            line("round_public_key", "\"\(Hex.encode(roundKey.publicKey.rawRepresentation))\"")
            line("ephemeral_private_key", "\"\(Hex.encode(ephemeral.rawRepresentation.unsafeArray()))\"")
            line("enc", "\"\(Hex.encode(ephemeral.publicKey.rawRepresentation))\"")
            line("evaluator", jsonString(i.evaluator))
            line("evaluator_seed", "\"\(Hex.encode(signer.rawRepresentation.unsafeArray()))\"")
            line("evaluator_public_key", "\"\(Hex.encode(signer.publicKey.rawRepresentation))\"")
            line("batch_id", "\"\(Hex.encode(i.batchID))\"")
            line("time", "\(i.time)")
            o += "  \"records\": [\n" + (i.records.map { r in
                "    [" + r.map { $0.map(jsonString) ?? "null" }.joined(separator: ", ") + "]"
            }).joined(separator: ",\n") + "\n  ]"
            guard let e else { return o + "\n}\n" }
            o += ",\n  \"expected\": {\n"
            let fields: [(String, String)] = [
                ("hpke_info", "\"\(e.hpkeInfo)\""), ("header", "\"\(e.header)\""), ("exporter_secret", "\"\(e.exporterSecret)\""),
                ("payload_key_context", "\"\(e.payloadKeyContext)\""), ("payload_key", "\"\(e.payloadKey)\""),
                ("payload_bytes", "\(e.payloadBytes)"), ("payload_sha256", "\"\(e.payloadSha256)\""), ("chunks", "\(e.chunks)"),
                ("chunk_sha256", "[" + e.chunkSha256.map { "\"\($0)\"" }.joined(separator: ", ") + "]"), ("count", "\(e.count)"),
                ("digest", "\"\(e.digest)\""), ("signature", "\"\(e.signature)\""), ("file_bytes", "\(e.fileBytes)"),
                ("file_sha256", "\"\(e.fileSha256)\""),
            ]
            o += fields.map { "    \"\($0.0)\": \($0.1)" }.joined(separator: ",\n") + "\n  }\n}\n"
            return o
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        struct Partial: Decodable {
            let description: String, generatedBy: String, file: String, vault: String, round: String, teams: [String]
            let criteria: [Vector.Criterion]
            let roundPrivateKey: String, roundPublicKey: String, ephemeralPrivateKey: String, enc: String
            let evaluator: String, evaluatorSeed: String, evaluatorPublicKey: String, batchId: String, time: Int64, records: [[String?]]
        }
        let p = try decoder.decode(Partial.self, from: Data(try text(nil).utf8))
        let placeholder = Vector.Expected(hpkeInfo: "", header: "", exporterSecret: "", payloadKeyContext: "", payloadKey: "", payloadBytes: 0,
                                          payloadSha256: "", chunks: 0, chunkSha256: [], count: 0, digest: "", signature: "", fileBytes: 0, fileSha256: "")
        let v = Vector(description: p.description, generatedBy: p.generatedBy, file: p.file, vault: p.vault, round: p.round, teams: p.teams,
                       criteria: p.criteria, roundPrivateKey: p.roundPrivateKey, roundPublicKey: p.roundPublicKey, ephemeralPrivateKey: p.ephemeralPrivateKey,
                       enc: p.enc, evaluator: p.evaluator, evaluatorSeed: p.evaluatorSeed, evaluatorPublicKey: p.evaluatorPublicKey, batchId: p.batchId,
                       time: p.time, records: p.records, expected: placeholder)
        let built = try buildWithWriter(v)
        let sender = try HPKE.Sender(recipientKey: roundKey.publicKey, info: Doc.info(vault: i.vault, round: i.round), ephemeralKey: ephemeral)
        let payload = try records(of: v, in: Self.round(of: v)).flatMap { Doc.encode($0) }
        let e = Vector.Expected(
            hpkeInfo: Hex.encode(Doc.info(vault: i.vault, round: i.round)), header: Hex.encode(built.header),
            exporterSecret: Hex.encode(sender.exporterSecretForTests.unsafeArray()),
            payloadKeyContext: Hex.encode(Doc.payloadKeyContext(header: built.header)),
            payloadKey: Hex.encode(try sender.exportSecret(context: Doc.payloadKeyContext(header: built.header), outputByteCount: 32).unsafeArray()),
            payloadBytes: payload.count, payloadSha256: Hex.encode(SHA256.hash(data: payload)), chunks: built.chunks.count,
            chunkSha256: built.chunks.map { Hex.encode(SHA256.hash(data: $0)) }, count: built.count, digest: Hex.encode(built.digest),
            signature: Hex.encode(built.signature), fileBytes: built.file.count, fileSha256: Hex.encode(SHA256.hash(data: built.file)))
        return (try text(e), built.file)
    }

    static func writeVectors() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in names {
            let (json, file) = try generate(name)
            try Data(json.utf8).write(to: directory.appendingPathComponent("\(name).json"))
            try Data(file).write(to: directory.appendingPathComponent("\(name).batch"))
        }
    }
}
