import Foundation
import Testing
@testable import VaultCore
import VaultCrypto

/// The tally batch file (docs/tally-format.md, Tally batch): written and read back exactly; every
/// byte of the header, the records and the trailer covered by the evaluator's signature or the
/// strict reading; places once and in order; its proofs checked by counting.
@Suite("Tally batch file")
struct TallyBatchTests {
    struct Fixture {
        let config: RoundConfig
        let key = Tally.PublicKey(P256.Point.base(.random()))
        let evaluator = PrivateKeys.generate()
        let header: TallyBatch.Header
        let bytes: [UInt8]
        let scores: [(team: Int, criterion: Int, index: Int)] = [(1, 0, 200), (0, 1, 3), (0, 0, 0), (1, 1, 9)]

        init() throws {
            config = try RoundFile.parse(CeremonyTests.roundFile.replacingOccurrences(of: """
                [[publish]]
                """, with: """
                [[criteria]]
                id = "safety"
                weight = 1
                min = 1
                max = 10
                step = 1
                [[publish]]
                """), file: "R2.round")
            header = TallyBatch.Header(vault: String(repeating: "ab", count: 16), round: "R2", jointKey: key.point.encoded(compressed: false),
                                       batchID: SecureRandom.bytes(count: 16), evaluator: "ev-1", time: 1_796_000_000_123_456)
            bytes = try TallyBatch.make(header: header, config: config, key: key, scores: scores, signer: evaluator.signing)
        }

        func count(_ bytes: [UInt8]) throws -> TallyCounting.Counted {
            let batch = try TallyBatch(bytes: bytes, config: config, file: "b.batch")
            guard batch.isSigned(by: evaluator.publicKeys.signing) else { throw VaultError.integrity("signature") }
            return try TallyCounting.verifyAndSum(config: config, key: key, vault: header.vault, chunks: 1) { _ in batch.inputs }
        }
    }

    @Test("written and read back: header, places in order, sizes by grid, signature, proofs")
    func roundTrip() throws {
        let f = try Fixture()
        let batch = try TallyBatch(bytes: f.bytes, config: f.config, file: "b.batch")
        #expect(batch.header == f.header)
        #expect(batch.records.map { [$0.team, $0.criterion] } == [[0, 0], [0, 1], [1, 0], [1, 1]])
        #expect(batch.records.map(\.score.count) == [2_587, 1_423, 2_587, 1_423])
        #expect(batch.isSigned(by: f.evaluator.publicKeys.signing))
        #expect(!batch.isSigned(by: PrivateKeys.generate().publicKeys.signing))
        let counted = try f.count(f.bytes)
        #expect(counted.cells.map(\.count) == [1, 1, 1, 1])
        #expect(counted.evaluatorsOfTeam == [1, 1])
    }

    @Test("every byte changed is refused: by the strict reading, the signature or a proof")
    func everyByte() throws {
        let f = try Fixture()
        var refused = 0
        // Every byte of the header and trailer, and a stride through the records.
        let header = try TallyBatch(bytes: f.bytes, config: f.config, file: "b").headerBytes.count
        let positions = Array(0..<header) + Array(stride(from: header, to: f.bytes.count - 72, by: 61)) + Array((f.bytes.count - 72)..<f.bytes.count)
        for i in positions {
            var b = f.bytes
            b[i] ^= 0x01
            #expect(throws: VaultError.self, "byte \(i)") { try f.count(b) }
            refused += 1
        }
        #expect(refused == positions.count && refused > 300)
        // Cut short, padded, empty.
        for b in [Array(f.bytes.dropLast()), f.bytes + [0], Array(f.bytes.prefix(100)), []] {
            #expect(throws: VaultError.self) { try f.count(b) }
        }
    }

    @Test("a place twice, another round's batch, a sealed round's batch, a score re-signed under another evaluator")
    func refusals() throws {
        let f = try Fixture()
        #expect(throws: VaultError.self) {
            try TallyBatch.make(header: f.header, config: f.config, key: f.key, scores: [(0, 0, 1), (0, 0, 2)], signer: f.evaluator.signing)
        }
        var other = f.bytes
        other[7] = 0x02
        #expect { try TallyBatch(bytes: other, config: f.config, file: "s.batch") } throws: { "\($0)".contains("a batch of a sealed round") }
        // The same records under a header naming ev-2, signed by ev-2: the proofs name ev-1.
        let ev2 = PrivateKeys.generate()
        let batch = try TallyBatch(bytes: f.bytes, config: f.config, file: "b")
        let h2 = TallyBatch.Header(vault: f.header.vault, round: "R2", jointKey: f.header.jointKey, batchID: f.header.batchID, evaluator: "ev-2", time: f.header.time)
        let records = Array(f.bytes[batch.headerBytes.count..<(f.bytes.count - 72)])
        let d = TallyBatch.digest(header: h2.encoded, records: records[...], count: 4)
        let forged = h2.encoded + records + UInt64(4).bigEndianBytes + (try ev2.signing.signature(for: d))
        let read = try TallyBatch(bytes: forged, config: f.config, file: "f")
        #expect(read.isSigned(by: ev2.publicKeys.signing))
        #expect(throws: VaultError.self) {
            try TallyCounting.verifyAndSum(config: f.config, key: f.key, vault: f.header.vault, chunks: 1) { _ in read.inputs }
        }
    }
}
